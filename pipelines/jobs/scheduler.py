"""The scheduler thread behind ``JobQueue``: admission, worker processes, progress and watchdogs.

It admits queued jobs strictly first-in first-out when the resources they declare fit what is free
(a large job at the head is not overtaken, so it cannot starve), and runs each in its own
worker process (``pipelines.jobs.workers``), never on the caller's thread or event loop. Workers
report progress over a pipe; the scheduler writes it to the database at most every
``progress_interval`` seconds per job and publishes the job events. A worker whose resident memory
grows past what its job declared (plus a margin) is killed and the job failed with the reason;
cancellation asked for through the database (by another process) reaches the worker within
``poll_interval`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from multiprocessing.connection import wait
from typing import Any

from sqlalchemy import update

from pipelines.db.engine import Database
from pipelines.db.job_models import Job
from pipelines.jobs.events import EventBus
from pipelines.jobs.records import (
    RESTART_REASON,
    cancel_requested,
    claim,
    fail_running,
    queued_demands,
    save_outcome,
    save_progress,
    save_reasons,
)
from pipelines.jobs.resources import Demand, Free, ResourceProbe, insufficiency, memory_ceiling_gb
from pipelines.jobs.task_kinds import TaskKinds
from pipelines.jobs.workers import WorkerRun, worker_context
from pipelines.settings import Settings

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    """Runs the queued jobs of one database. ``lock`` guards the running workers and the queue's
    own state changes; ``changed`` is notified whenever a job starts or finishes."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        tasks: TaskKinds,
        events: EventBus,
        *,
        max_workers: int | None,
        probe: ResourceProbe,
        progress_interval: float,
        poll_interval: float,
        memory_margin_gb: float,
        memory_interval: float,
    ) -> None:
        self.settings = settings
        self.database = database
        self.tasks = tasks
        self.events = events
        self.max_workers = max_workers
        self.probe = probe
        self.progress_interval = progress_interval
        self.poll_interval = poll_interval
        self.memory_margin_gb = memory_margin_gb
        self.memory_interval = memory_interval
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.closing = False
        self._context = worker_context(spec.fn.__module__ for spec in tasks.specs().values())
        self._running: dict[str, WorkerRun] = {}
        self._wake_r, self._wake_w = self._context.Pipe(duplex=False)
        self._thread: threading.Thread | None = None
        self._draining = False

    # -- life cycle --------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Fail the jobs a previous process left running, then schedule (queued jobs resume in order)."""
        with self.lock:
            if self._thread is not None:
                return
            self._recover()
            self._thread = threading.Thread(target=self._loop, name="job-scheduler", daemon=True)
            self._thread.start()

    def close(self, *, wait: bool, timeout: float | None) -> None:
        """Stop scheduling; ``wait``: let running jobs finish first (up to ``timeout``), otherwise
        terminate their workers and leave their rows ``running``, exactly as after a crash."""
        with self.changed:
            self._draining = True
            if wait:
                deadline = None if timeout is None else time.monotonic() + timeout
                while self._running:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self.changed.wait(left)
            self.closing = True
            self.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self.lock:
            for run in list(self._running.values()):
                run.abandon()
            self._running.clear()
            self.changed.notify_all()

    def wake(self) -> None:
        """Make the scheduler look at the queue now rather than at its next poll."""
        with contextlib.suppress(OSError):  # closed at shutdown
            self._wake_w.send_bytes(b"!")

    # -- what the queue's requests need ------------------------------------------------------------
    ends_running_on_cancel = False  # a cancelled running job ends when its worker has stopped

    def submitted(self, job_id: str) -> None:
        """A job was queued: start it at once when it fits (once scheduling has started)."""
        if self._thread is not None:
            self._admit()

    def cancelled(self, job_id: str, *, running: bool) -> None:
        """A job was cancelled: terminate its worker when this scheduler runs it (its outcome is
        ``cancelled``); another process's scheduler sees the request in the database."""
        if running and job_id in self._running:
            self._terminate(self._running[job_id])

    def wait_reason(self, demand: Demand) -> str | None:
        """Why a job declaring ``demand`` would wait if it were queued now (the admission rules of
        ``_admit``: busy workers, earlier queued jobs, resources short); None when it would start."""
        with self.lock:
            free = Free.of(self.probe, [r.demand for r in self._running.values()])
            short = insufficiency(free, demand)
            if self.max_workers is not None and len(self._running) >= self.max_workers:
                return short or f"All {self.max_workers} job workers are busy"
            with self.database.session() as s:
                waiting = len(queued_demands(s))
            if waiting:
                return short or f"Waiting for {waiting} earlier queued job(s)"
            return short

    def demands(self) -> list[Demand]:
        """What the running jobs declared."""
        with self.lock:
            return [r.demand for r in self._running.values()]

    def completed(
        self, job_id: str, kind: str, owner: str | None, status: str, result: Any, error: str | None
    ) -> None:
        """Publish ``task_completed`` and wake whoever waits for a job to finish."""
        self.events.completed(job_id, kind, owner, status, result, error)
        self.changed.notify_all()

    # -- the scheduler thread ------------------------------------------------------------------------
    def _recover(self) -> None:
        with self.database.transaction() as s:
            stale = fail_running(s)
        for job_id, kind, owner in stale:
            log.warning("job %s (%s) failed: %s", job_id, kind, RESTART_REASON)
            self.completed(job_id, kind, owner, "failed", None, RESTART_REASON)

    def _loop(self) -> None:
        next_poll = next_memory = 0.0
        while True:
            with self.lock:
                if self.closing:
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
            with self.lock:
                if self.closing:
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
        if self._draining or self.closing:
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
            self.completed(job_id, kind, owner, "failed", None, f"the job could not start: {exc}")
            return True
        self._running[job_id] = run
        with self.database.transaction() as s:
            s.execute(update(Job).where(Job.id == job_id).values(worker_pid=run.process.pid))
        data = {"task_id": job_id, "task_type": kind, "description": description}
        self.events.publish("task_running", data, owner)
        self.changed.notify_all()
        return True

    def _drain(self, run: WorkerRun) -> None:
        run.read()
        if run.dirty and time.monotonic() - run.last_flush >= self.progress_interval:
            self._flush(run, time.monotonic())

    def _flush(self, run: WorkerRun, now: float) -> None:
        with self.database.transaction() as s:
            save_progress(s, run.job_id, run.progress, run.description, run.detail)
        run.dirty, run.last_flush = False, now
        data: dict[str, Any] = {
            "task_id": run.job_id,
            "task_type": run.kind,
            "description": run.description,
            "progress": round(run.progress, 2),
        }
        if run.detail is not None:
            data["detail"] = run.detail
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
        self.completed(run.job_id, run.kind, run.user_id, status, result, error)

    def _write_outcome(
        self, job_id: str, status: str, result: dict[str, Any] | None, error: str | None
    ) -> None:
        with self.database.transaction() as s:
            save_outcome(s, job_id, status, result, error)

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
