"""The durable, resource-aware job queue.

Jobs live in the app database (``pipelines.db.job_models.Job``); the queue's scheduler thread admits
queued jobs strictly first-in first-out when the resources they declare fit what is free (a large job
at the head is not overtaken, so it cannot starve), and runs each in its own spawned worker process,
never on the caller's thread or event loop. Workers report progress over a pipe; the scheduler writes
it to the database at most every ``progress_interval`` seconds per job and publishes events. A worker
whose resident memory grows past what its job declared (plus a margin) is killed and the job failed
with the reason.

Durability: the database is the queue. On ``start()`` jobs left ``running`` by a previous process
are failed (``RESTART_REASON``) and queued jobs run in their order. One queue (one process) schedules
a database; other processes may submit, read and request cancellation through the same tables.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import wait
from types import TracebackType
from typing import Any

from sqlalchemy import func, select, update

from pipelines.db.engine import Database
from pipelines.db.job_models import JOB_STATUSES, Job
from pipelines.db.types import utc_now
from pipelines.errors import ConflictError, InvalidRequestError
from pipelines.jobs.events import EventBus, Subscriber
from pipelines.jobs.records import (
    RESTART_REASON,
    JobInfo,
    Requester,
    cancel_requested,
    check_owner,
    claim,
    fail_running,
    load_job,
    queue_position,
    queued_demands,
    queued_ids,
    save_outcome,
    save_progress,
    save_reasons,
)
from pipelines.jobs.registry import TaskRegistry
from pipelines.jobs.resources import (
    Demand,
    Free,
    PsutilProbe,
    ResourceProbe,
    insufficiency,
    memory_ceiling_gb,
)
from pipelines.jobs.resources import too_large_for_machine as _too_large
from pipelines.jobs.views import queue_snapshot, resource_view
from pipelines.jobs.workers import WorkerRun
from pipelines.settings import Settings

__all__ = ["JobQueue"]

log = logging.getLogger(__name__)


class JobQueue:
    """Submit, follow and cancel jobs; ``start()`` (or ``with``) runs the scheduler, ``close()`` stops it."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        tasks: TaskRegistry,
        *,
        max_workers: int | None = None,
        probe: ResourceProbe | None = None,
        progress_interval: float = 0.2,
        poll_interval: float = 0.5,
        memory_margin_gb: float = 0.5,
        memory_interval: float = 0.2,
    ) -> None:
        """``memory_margin_gb``: how far past its declared RAM a worker may grow before it is stopped
        (``memory_ceiling_gb``); its memory is read every ``memory_interval`` seconds."""
        if max_workers is not None and max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.settings = settings
        self.database = database
        self.tasks = tasks
        self.max_workers = max_workers
        self.probe: ResourceProbe = probe or PsutilProbe()
        self.progress_interval = progress_interval
        self.poll_interval = poll_interval
        self.memory_margin_gb = memory_margin_gb
        self.memory_interval = memory_interval
        self.events = EventBus()
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._running: dict[str, WorkerRun] = {}
        self._wake_r, self._wake_w = self._context.Pipe(duplex=False)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._draining = False

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> JobQueue:
        """Fail the jobs a previous process left running, then schedule (queued jobs resume in order)."""
        with self._lock:
            if self._thread is not None:
                return self
            self._recover()
            self._thread = threading.Thread(target=self._loop, name="job-scheduler", daemon=True)
            self._thread.start()
        return self

    def close(self, *, wait: bool = False, timeout: float | None = None) -> None:
        """Stop scheduling. ``wait``: let running jobs finish first (up to ``timeout``).

        Without waiting, running workers are terminated and their rows are left ``running``, exactly
        as after a crash: the next ``start()`` fails them with ``RESTART_REASON``.
        """
        with self._changed:
            self._draining = True
            if wait:
                deadline = None if timeout is None else time.monotonic() + timeout
                while self._running:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._changed.wait(left)
            self._closing = True
            self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            for run in list(self._running.values()):
                run.abandon()
            self._running.clear()
            self._changed.notify_all()

    def __enter__(self) -> JobQueue:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def subscribe(self, callback: Subscriber) -> Any:
        """Every later job event (see ``pipelines.jobs.events``); returns the unsubscribe function."""
        return self.events.subscribe(callback)

    # -- requests ----------------------------------------------------------------------------------
    def submit(self, kind: str, params: Mapping[str, Any] | None, owner: str | None = None) -> JobInfo:
        """Validate, queue, and start at once when the job fits (then its status is ``running``)."""
        spec = self.tasks.get(kind)
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise InvalidRequestError("job parameters must be a JSON object")
        checked = spec.validate(dict(params), self.settings) if spec.validate else dict(params)
        try:
            json.dumps(checked, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"job parameters must be JSON values: {exc}") from None
        demand = Demand(spec.cpu_cores, spec.ram_for(checked))
        refusal = _too_large(self.probe, kind, demand)
        if refusal is not None:
            raise InvalidRequestError(refusal)
        with self._lock:
            if self._closing:
                raise ConflictError("the job queue is shutting down; submit again later")
            with self.database.transaction() as s:
                ahead = s.scalar(select(func.count()).select_from(Job).where(Job.status == "queued"))
                job = Job(
                    kind=kind,
                    status="queued",
                    progress=0.0,
                    description=spec.description(checked),
                    params=checked,
                    user_id=owner,
                    est_cpu_cores=demand.cpu_cores,
                    est_ram_gb=demand.ram_gb,
                    cancel_requested=False,
                )
                s.add(job)
                s.flush()
                job_id = job.id
            data = {"task_id": job_id, "task_type": kind, "queue_position": int(ahead or 0) + 1}
            self.events.publish("task_queued", data, owner)
            if self._thread is not None:
                self._admit()
            return self.info(job_id)

    def info(self, job_id: str) -> JobInfo:
        """A job by id, without an ownership check (for the server's own use)."""
        with self.database.session() as s:
            job = load_job(s, job_id)
            return JobInfo.of(job, queue_position(s, job))

    def get(self, job_id: str, user: Requester) -> JobInfo:
        """A job of ``user`` (any job for an admin); someone else's is PermissionDeniedError."""
        with self.database.session() as s:
            job = load_job(s, job_id)
            check_owner(job, user)
            return JobInfo.of(job, queue_position(s, job))

    def list_jobs(
        self, user: Requester, *, status: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[JobInfo]:
        """Newest first: the user's own jobs, or everyone's for an admin."""
        if not 1 <= limit <= 1000:
            raise InvalidRequestError(f"limit must be between 1 and 1000, got {limit}")
        if status is not None and status not in JOB_STATUSES:
            raise InvalidRequestError(f"unknown status {status!r}; expected one of {', '.join(JOB_STATUSES)}")
        query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        if not user.is_admin:
            query = query.where(Job.user_id == user.id)
        if status is not None:
            query = query.where(Job.status == status)
        if kind is not None:
            query = query.where(Job.kind == kind)
        with self.database.session() as s:
            positions = {job_id: i for i, job_id in enumerate(queued_ids(s), 1)}
            return [JobInfo.of(job, positions.get(job.id)) for job in s.scalars(query)]

    def cancel(self, job_id: str, user: Requester) -> JobInfo:
        """Cancel a queued job, or terminate a running one's worker; a finished job is a ConflictError."""
        with self._lock:
            with self.database.transaction() as s:
                job = load_job(s, job_id)
                check_owner(job, user)
                if job.is_terminal:
                    raise ConflictError(f"job {job_id} is already {job.status}")
                if job.status == "queued":
                    job.status, job.finished_at, job.reason = "cancelled", utc_now(), None
                    job.error, job.cancel_requested = "cancelled by request", True
                else:
                    job.cancel_requested = True
                kind, owner, was_queued = job.kind, job.user_id, job.status == "cancelled"
            if was_queued:
                self._completed(job_id, kind, owner, "cancelled", None, "cancelled by request")
            elif job_id in self._running:
                self._terminate(self._running[job_id])
            self._wake()
        return self.info(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo:
        """Block until the job has finished (or ``timeout`` passed); returns its latest state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                current = self.info(job_id)
                left = None if deadline is None else deadline - time.monotonic()
                if current.is_terminal or (left is not None and left <= 0):
                    return current
                self._changed.wait(min(left, self.poll_interval) if left is not None else self.poll_interval)

    # -- views (the 002 document's shapes) ---------------------------------------------------------
    def snapshot(self, user_id: str | None = None) -> dict[str, Any]:
        """Running and queued jobs: all of them, or only ``user_id``'s (positions stay global)."""
        return queue_snapshot(self.database, user_id)

    def resources(self) -> dict[str, Any]:
        """CPU and RAM as admission sees them: totals, what running jobs declared, what is free."""
        with self._lock:
            demands = [r.demand for r in self._running.values()]
        return resource_view(self.probe, demands)

    # -- scheduler -----------------------------------------------------------------------------------
    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed at shutdown
            self._wake_w.send_bytes(b"!")

    def _recover(self) -> None:
        with self.database.transaction() as s:
            stale = fail_running(s)
        for job_id, kind, owner in stale:
            log.warning("job %s (%s) failed: %s", job_id, kind, RESTART_REASON)
            self._completed(job_id, kind, owner, "failed", None, RESTART_REASON)

    def _loop(self) -> None:
        next_poll = next_memory = 0.0
        while True:
            with self._lock:
                if self._closing:
                    return
                now = time.monotonic()
                if now >= next_memory:
                    self._stop_overgrown()
                    next_memory = now + self.memory_interval
                if now >= next_poll:
                    self._poll_cancel_requests()
                    self._admit()
                    next_poll = now + self.poll_interval
                timeout = min(next_poll, next_memory) - now if self._running else next_poll - now
                for run in self._running.values():
                    if run.dirty:
                        due = run.last_flush + self.progress_interval - now
                        if due <= 0:
                            self._flush(run, now)
                        else:
                            timeout = min(timeout, due)
                waitables: list[Any] = [self._wake_r]
                for run in self._running.values():
                    waitables.extend(run.waitables())
            ready = wait(waitables, max(0.0, timeout))
            with self._lock:
                if self._closing:
                    return
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                    next_poll = 0.0
                for run in list(self._running.values()):
                    if run.conn in ready:
                        self._drain(run)
                    if run.process.sentinel in ready:
                        self._drain(run)
                        self._finish(run)
                        next_poll = 0.0

    def _admit(self) -> None:
        """Start queued jobs in order while the head of the queue fits; note why the others wait."""
        if self._draining or self._closing:
            return
        free = Free.of(self.probe, [r.demand for r in self._running.values()])
        reasons: dict[str, str | None] = {}
        with self.database.session() as s:
            queued = queued_demands(s)
        waiting = 0
        for job_id, cores, ram, old_reason in queued:
            demand = Demand(cores, ram)
            short = insufficiency(free, demand)
            reason: str | None
            if self.max_workers is not None and len(self._running) >= self.max_workers:
                reason = short or f"All {self.max_workers} job workers are busy"
            elif waiting:
                reason = short or f"Waiting for {waiting} earlier queued job(s)"
            elif short is None:
                if self._launch(job_id, demand):
                    free = free.minus(demand)
                continue
            else:
                reason = short
            waiting += 1
            if reason != old_reason:
                reasons[job_id] = reason
        if reasons:
            with self.database.transaction() as s:
                save_reasons(s, reasons)

    def _launch(self, job_id: str, demand: Demand) -> bool:
        """Claim a queued job and start its worker; False when someone else took or cancelled it."""
        with self.database.transaction() as s:
            job = claim(s, job_id)
            if job is None:
                return False
            kind, params, owner, description = job.kind, dict(job.params), job.user_id, job.description
        try:
            run = WorkerRun.start(
                self._context,
                self.tasks.get(kind).fn,
                params,
                self.settings,
                job_id=job_id,
                kind=kind,
                user_id=owner,
                demand=demand,
                description=description,
            )
        except Exception as exc:
            log.exception("job %s could not start", job_id)
            self._write_outcome(job_id, "failed", None, f"the job could not start: {exc}")
            self._completed(job_id, kind, owner, "failed", None, f"the job could not start: {exc}")
            return True
        self._running[job_id] = run
        with self.database.transaction() as s:
            s.execute(update(Job).where(Job.id == job_id).values(worker_pid=run.process.pid))
        data = {"task_id": job_id, "task_type": kind, "description": description}
        self.events.publish("task_running", data, owner)
        self._changed.notify_all()
        return True

    def _drain(self, run: WorkerRun) -> None:
        run.read()
        if run.dirty and time.monotonic() - run.last_flush >= self.progress_interval:
            self._flush(run, time.monotonic())

    def _flush(self, run: WorkerRun, now: float) -> None:
        with self.database.transaction() as s:
            save_progress(s, run.job_id, run.progress, run.description)
        run.dirty, run.last_flush = False, now
        data = {"task_id": run.job_id, "description": run.description, "progress": round(run.progress, 2)}
        self.events.publish("task_description_update", data, run.user_id)

    def _terminate(self, run: WorkerRun) -> None:
        run.stop()
        self._finish(run)

    def _finish(self, run: WorkerRun) -> None:
        """The worker has exited: record the job's outcome and free its resources."""
        status, result, error = run.reap()
        self._running.pop(run.job_id, None)
        if run.dirty:
            self._flush(run, time.monotonic())
        self._write_outcome(run.job_id, status, result, error)
        self._completed(run.job_id, run.kind, run.user_id, status, result, error)

    def _write_outcome(
        self, job_id: str, status: str, result: dict[str, Any] | None, error: str | None
    ) -> None:
        with self.database.transaction() as s:
            save_outcome(s, job_id, status, result, error)

    def _completed(
        self, job_id: str, kind: str, owner: str | None, status: str, result: Any, error: str | None
    ) -> None:
        data: dict[str, Any] = {"task_id": job_id, "task_type": kind, "status": status}
        if status == "completed":
            data["result"] = result
        else:
            data["error"] = error
        self.events.publish("task_completed", data, owner)
        self._changed.notify_all()

    def _stop_overgrown(self) -> None:
        """Workers holding more memory than they declared (plus the margin) fail with the reason."""
        for run in list(self._running.values()):
            if run.over_memory(memory_ceiling_gb(run.demand, self.memory_margin_gb)):
                log.warning("job %s stopped for its memory: %s GB used", run.job_id, run.memory_used_gb)
                self._finish(run)

    def _poll_cancel_requests(self) -> None:
        """Cancellation asked for through the database (by another process) reaches our workers."""
        if not self._running:
            return
        with self.database.session() as s:
            wanted = cancel_requested(s, list(self._running))
        for job_id in wanted:
            if job_id in self._running:
                self._terminate(self._running[job_id])
