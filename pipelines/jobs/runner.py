"""How a Celery job worker runs a job it receives: admission on this host, the claim, the same worker
process the local scheduler starts, progress and heartbeats to the rows, the outcome.

The Celery message carries only the job's id: the row is the record of truth. Admission counts what
this worker's running jobs declared against this machine (``pipelines.jobs.resources``); a job that
does not fit now is not failed but handed back to be retried later (its row says why it waits). The
claim is the local scheduler's conditional UPDATE (queued -> running, once), so a message delivered
twice (a worker died before acknowledging it) never runs a job twice: the second finds it taken and
drops it. While the job runs its heartbeat and progress are written every ``progress_interval`` /
``heartbeat_interval`` seconds; a cancelled (or revoked, or reaped) job's process is stopped.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from sqlalchemy import update

from pipelines.db.engine import Database
from pipelines.db.job_models import Job
from pipelines.db.types import utc_now
from pipelines.errors import InvalidRequestError
from pipelines.jobs.heartbeats import beat
from pipelines.jobs.records import claim, save_outcome, save_reasons
from pipelines.jobs.resources import (
    Demand,
    Free,
    PsutilProbe,
    ResourceProbe,
    insufficiency,
    too_large_for_machine,
)
from pipelines.jobs.resources import memory_ceiling_gb as _ceiling
from pipelines.jobs.task_kinds import TaskKinds, TaskSpec
from pipelines.jobs.workers import WorkerRun, worker_context
from pipelines.settings import Settings

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Claimed:
    spec: TaskSpec
    params: dict[str, Any]
    owner: str | None
    description: str
    demand: Demand


class JobRunner:
    """Runs the jobs one Celery worker process receives (``run`` is called on its pool's threads)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        tasks: TaskKinds,
        *,
        probe: ResourceProbe | None = None,
        retry_seconds: float = 5.0,
        progress_interval: float = 0.5,
        memory_margin_gb: float = 0.5,
    ) -> None:
        self.settings = settings
        self.database = database
        self.tasks = tasks
        self.probe: ResourceProbe = probe or PsutilProbe()
        self.retry_seconds = retry_seconds
        self.progress_interval = progress_interval
        self.heartbeat_interval = settings.jobs.job_heartbeat_seconds
        self.memory_margin_gb = memory_margin_gb
        self.host = socket.gethostname()
        self._context = worker_context(spec.fn.__module__ for spec in tasks.specs().values())
        self._lock = threading.Lock()
        self._running: dict[str, Demand] = {}

    def warm_up(self) -> None:
        """Start the jobs' fork server now: it imports every job kind's libraries (seconds, more on a
        busy host), which the first job claimed would otherwise wait for with no heartbeat written,
        long enough on a loaded host for the API to fail it as stale."""
        process = self._context.Process(target=int, name="tradeforge-job-warm-up")
        process.start()
        process.join()

    def run(self, job_id: str, revoked: Callable[[], bool] = lambda: False) -> float | None:
        """Run the job to its end; the seconds after which to try again when its resources do not fit
        now (None otherwise: run, or dropped because it was no longer queued)."""
        taken = self._admit(job_id)
        if taken is None or isinstance(taken, float):
            return taken
        try:
            self._supervise(job_id, taken, revoked)
        finally:
            with self._lock:
                self._running.pop(job_id, None)
        return None

    def _admit(self, job_id: str) -> _Claimed | float | None:
        """Claim the job when it fits beside this worker's running jobs; else note why it waits."""
        with self._lock:
            with self.database.session() as s:
                job = s.get(Job, job_id)
                if job is None or job.status != "queued":
                    status = "gone" if job is None else job.status
                    log.info("job %s is %s, not queued: its message is dropped", job_id, status)
                    return None
                demand, kind = Demand(job.est_cpu_cores, job.est_ram_gb), job.kind
            short = insufficiency(Free.of(self.probe, list(self._running.values())), demand)
            if short is not None:  # one that can never fit here says so: a larger host may take it
                short = too_large_for_machine(self.probe, kind, demand) or short
                with self.database.transaction() as s:
                    save_reasons(s, {job_id: f"{short} (on {self.host})"})
                return self.retry_seconds
            with self.database.transaction() as s:
                job = claim(s, job_id, worker_host=self.host, heartbeat_at=utc_now(), worker_pid=None)
                if job is None:
                    log.info("job %s was taken or cancelled meanwhile: its message is dropped", job_id)
                    return None
                kind, params, owner, description = job.kind, dict(job.params), job.user_id, job.description
            self._running[job_id] = demand
        try:
            spec = self.tasks.get(kind)
        except InvalidRequestError as exc:
            with self._lock:
                self._running.pop(job_id, None)
            self._end(job_id, "failed", None, f"this job worker ({self.host}) cannot run it: {exc}")
            return None
        return _Claimed(spec, params, owner, description, demand)

    def _supervise(self, job_id: str, job: _Claimed, revoked: Callable[[], bool]) -> None:
        """Start the job's worker process and follow it to its end (the local scheduler's ``WorkerRun``)."""
        try:
            run = WorkerRun.start(
                self._context,
                job.spec.fn,
                job.params,
                self.settings,
                job_id=job_id,
                kind=job.spec.kind,
                user_id=job.owner,
                demand=job.demand,
                description=job.description,
            )
        except Exception as exc:
            log.exception("job %s could not start", job_id)
            self._end(job_id, "failed", None, f"the job could not start: {exc}")
            return
        with self.database.transaction() as s:
            s.execute(update(Job).where(Job.id == job_id).values(worker_pid=run.process.pid))
        self._follow(run, revoked)
        status, result, error = run.reap()
        if run.dirty:
            self._beat(run)
        self._end(job_id, status, result, error)

    def _follow(self, run: WorkerRun, revoked: Callable[[], bool]) -> None:
        """Read the worker's progress until it exits; stop it when the job is cancelled (its row or
        its revoked Celery task) or reaped, or when it outgrows its declared memory."""
        ceiling = _ceiling(run.demand, self.memory_margin_gb)
        last_beat = time.monotonic()
        while True:
            ready = wait(run.waitables(), min(self.progress_interval, self.heartbeat_interval))
            run.read()
            if run.process.sentinel in ready or not run.process.is_alive():
                run.read()
                return
            if revoked():
                run.stop()
                return
            if run.over_memory(ceiling):
                log.warning("job %s stopped for its memory: %s GB used", run.job_id, run.memory_used_gb)
                return
            now = time.monotonic()
            if now - last_beat >= self.heartbeat_interval or (
                run.dirty and now - last_beat >= self.progress_interval
            ):
                last_beat = now
                if self._beat(run) != "running":
                    run.stop()
                    return

    def _beat(self, run: WorkerRun) -> str | None:
        values: dict[str, Any] = {}
        if run.dirty:
            values = {"progress": run.progress, "description": run.description}
            if run.detail is not None:
                values["detail"] = run.detail
            run.dirty = False
        with self.database.transaction() as s:
            return beat(s, run.job_id, values)

    def _end(self, job_id: str, status: str, result: dict[str, Any] | None, error: str | None) -> None:
        """Write the outcome unless the job is no longer running (the API cancelled or reaped it)."""
        with self.database.transaction() as s:
            written = save_outcome(s, job_id, status, result, error, only_running=True)
        log.info("job %s %s%s", job_id, status, "" if written else " (its row had already ended)")
