"""The worker side of a job: runs in a spawned process, talks to the scheduler over a one-way pipe.

Messages are tuples: ``("progress", percent | None, description | None, detail | None)``, then exactly one of
``("done", result)`` or ``("error", message)``. The worker never touches the database. It exits on its
own when the process that started it dies, so a crashed server leaves no orphans computing.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Mapping
from multiprocessing.connection import Connection, wait
from typing import Any

from pipelines.errors import TradeforgeError
from pipelines.settings import Settings

__all__ = ["PipeReporter", "json_safe", "run_job"]

log = logging.getLogger(__name__)


def json_safe(value: Any) -> Any:
    """``value`` as JSON values: NaN and infinities become None, numpy scalars and times plain values."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return json_safe(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return json_safe(tolist())
    return str(value)


class PipeReporter:
    """The ``ProgressReporter`` a task gets in its worker process."""

    def __init__(self, job_id: str, settings: Settings, conn: Connection) -> None:
        self._job_id = job_id
        self._settings = settings
        self._conn = conn

    @property
    def job_id(self) -> str:
        return self._job_id

    @property
    def settings(self) -> Settings:
        return self._settings

    def update(
        self,
        progress: float | None = None,
        description: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        if progress is not None:
            progress = float(progress)
            progress = min(100.0, max(0.0, progress)) if math.isfinite(progress) else None
        if description is not None:
            description = str(description)[:500]
        safe = None if detail is None else json_safe(detail)
        if progress is None and description is None and safe is None:
            return
        self._conn.send(("progress", progress, description, safe))


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _exit_on_sigterm() -> None:
    """A cancelled job's worker gets SIGTERM: unwind as SystemExit, so open runs and files close
    (an MLflow run ends KILLED) before the scheduler's SIGKILL after a grace period."""

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def run_job(fn: Any, params: dict[str, Any], job_id: str, settings: Settings, conn: Connection) -> None:
    """The worker process's entry point: run ``fn(params, reporter)`` and send its outcome."""
    _exit_with_parent()
    _exit_on_sigterm()
    try:
        result = fn(params, PipeReporter(job_id, settings, conn))
        if not isinstance(result, Mapping):
            raise TypeError(f"a task returns a dict (a JSON object), got {type(result).__name__}")
        message: tuple[str, Any] = ("done", json_safe(result))
    except TradeforgeError as exc:
        message = ("error", str(exc) or type(exc).__name__)
    except SystemExit as exc:  # SIGTERM (cancelled, or the server stops) or a task's own exit
        message = ("error", f"stopped (exit status {exc.code})")
    except BaseException as exc:  # report everything else as the job's failure
        traceback.print_exc()
        message = ("error", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(message)
    finally:
        conn.close()
