"""One job's worker process as the scheduler sees it: start it, read its pipe, stop it, reap it.

The worker (``pipelines.jobs.worker.run_job``) sends ``("progress", percent, description, detail)`` messages
and finally ``("done", result)`` or ``("error", message)``; the scheduler reads them without blocking
whenever the pipe or the process's sentinel is ready.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from pipelines.jobs.resources import Demand, process_rss_gb
from pipelines.jobs.worker import run_job
from pipelines.settings import Settings

__all__ = ["TERMINATE_GRACE_SECONDS", "WorkerRun", "worker_context"]

TERMINATE_GRACE_SECONDS = 5.0

# Modules the fork server imports before it forks any worker: every scheduler's task modules so far,
# and what of MLflow the jobs saving a model need (seconds to build in each job else).
_preload: set[str] = {__name__, "pipelines.jobs.worker", "pipelines.models.mlflow_preload"}
_preload_lock = threading.Lock()


def worker_context(modules: Iterable[str]) -> ForkServerContext:
    """Where job workers start: forked from one server process per Python process that imported the
    worker's and the task kinds' ``modules`` (pandas, MLflow, the model libraries) once, so a job starts
    in milliseconds rather than paying seconds of imports; each worker is still a fresh single-threaded
    child (the server never runs a task), killed, measured and reaped by its own pid. Modules named
    after the server started are imported by each worker, as before."""
    with _preload_lock:
        _preload.update(modules)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(sorted(_preload))
    return context


@dataclass(eq=False)
class WorkerRun:
    job_id: str
    kind: str
    user_id: str | None
    demand: Demand
    process: BaseProcess
    conn: Connection
    description: str
    progress: float = 0.0
    detail: dict[str, Any] | None = None  # the task's latest structured progress
    dirty: bool = False  # progress/description changed since the last write
    last_flush: float = 0.0
    eof: bool = False
    outcome: tuple[str, Any] | None = None
    cancelled: bool = False
    memory_used_gb: float | None = None  # set when stopped for using more memory than declared

    @classmethod
    def start(
        cls,
        context: ForkServerContext,
        fn: Callable[..., Any],
        params: Mapping[str, Any],
        settings: Settings,
        *,
        job_id: str,
        kind: str,
        user_id: str | None,
        demand: Demand,
        description: str,
    ) -> WorkerRun:
        """Start the worker process of a claimed job."""
        parent_end, child_end = context.Pipe(duplex=False)
        process = context.Process(
            target=run_job,
            args=(fn, dict(params), job_id, settings, child_end),
            name=f"tradeforge-job-{job_id[:8]}",
        )
        process.start()
        child_end.close()
        run = cls(job_id, kind, user_id, demand, process, parent_end, description)
        run.last_flush = time.monotonic()
        return run

    def waitables(self) -> list[Any]:
        """What to ``multiprocessing.connection.wait`` on: the process's end, and its pipe while open."""
        return [self.process.sentinel] if self.eof else [self.process.sentinel, self.conn]

    def read(self) -> None:
        """Take in whatever the worker has sent so far (progress, its outcome) without blocking."""
        while not self.eof:
            try:
                if not self.conn.poll():
                    return
                message = self.conn.recv()
            except (EOFError, OSError):
                self.eof = True
                return
            if message[0] == "progress":
                _, progress, description, *rest = message
                if rest and rest[0] is not None:
                    self.detail = rest[0]
                if progress is not None:
                    self.progress = progress
                if description is not None:
                    self.description = description
                self.dirty = True
            else:
                self.outcome = message

    def stop(self) -> None:
        """Cancel: end the worker and read what it sent before it went."""
        self.cancelled = True
        self._end_process()
        self.read()

    def over_memory(self, ceiling_gb: float) -> bool:
        """Whether the worker (with its children) holds more than ``ceiling_gb``; if so it is killed at
        once (memory can grow by gigabytes in the grace a SIGTERM gets) and the job fails with why."""
        used = process_rss_gb(self.process.pid) if self.process.pid is not None else 0.0
        if used <= ceiling_gb:
            return False
        self.memory_used_gb = used
        self.process.kill()
        self.process.join(TERMINATE_GRACE_SECONDS)
        self.read()
        return True

    def abandon(self) -> None:
        """The scheduler is shutting down: end the worker and close its pipe, recording nothing (the
        job stays ``running`` in the database, and the next start fails it with the reason)."""
        self._end_process()
        self.conn.close()

    def _end_process(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; reaped either way."""
        process = self.process
        if process.is_alive():
            process.terminate()
            process.join(TERMINATE_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join(TERMINATE_GRACE_SECONDS)

    def reap(self) -> tuple[str, dict[str, Any] | None, str | None]:
        """The worker has exited: join it, close the pipe; the job's status, result and error."""
        self.process.join(TERMINATE_GRACE_SECONDS)
        self.conn.close()
        if self.cancelled:
            return "cancelled", None, "cancelled by request"
        if self.memory_used_gb is not None:
            declared, used = _gb(self.demand.ram_gb), _gb(self.memory_used_gb)
            return "failed", None, f"the job exceeded its declared memory of {declared} (used {used})"
        if self.outcome is not None and self.outcome[0] == "done":
            self.progress, self.dirty = 100.0, True
            result: dict[str, Any] | None = self.outcome[1]
            return "completed", result, None
        if self.outcome is not None:
            return "failed", None, str(self.outcome[1])
        return "failed", None, f"the worker process exited unexpectedly (exit code {self.process.exitcode})"


def _gb(value: float) -> str:
    return f"{round(value, 2):g} GB"
