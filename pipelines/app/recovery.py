"""Cleaning up what killed processes leave behind (kill -9, power loss, a crashed server).

* hidden temp files of interrupted atomic writes in the market, feature, dataset and metrics folders;
* MLflow runs left RUNNING by a training process that is gone: marked FAILED, with the reason in the
  ``tradeforge.failure_reason`` tag;
* the uploaded files of datasets whose processing job failed or was cancelled (they are never read
  again), and dataset folders no dataset record points to;
* kept result files (a cut answer's full equity curve and trades) whose job no longer exists, and
  those older than ``result_files_days``.

Temp files and unrecorded dataset folders are removed only once untouched for ``min_age_seconds``
(one hour by default), even at start-up: other processes share the home (Dagster runs, CLI ingests,
a second server), and a live writer's temp file keeps changing and is renamed within seconds, while
a lock held by the recovering process says nothing about theirs. A run counts as orphaned only when
it was started on this host and its recorded process (pid and start time, so a reused pid does not
count) no longer runs; runs of other hosts are left to a recovery there.

:func:`recover` runs them all; the serving leader calls it at start-up and ``tradeforge data check
--repair`` on demand.
"""

from __future__ import annotations

import logging
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pipelines.atomic import last_change, stale_temp_files
from pipelines.db import Database, Dataset, Job
from pipelines.jobs.files import prune_results
from pipelines.models.tracking import FAILURE_TAG, HOST_TAG, PID_TAG, PROCESS_STARTED_TAG, MlflowTracker
from pipelines.settings import Settings

__all__ = [
    "DEFAULT_MIN_AGE_SECONDS",
    "RecoveryReport",
    "fail_orphaned_runs",
    "process_alive",
    "recover",
    "remove_abandoned_uploads",
    "remove_stale_temp_files",
]

log = logging.getLogger(__name__)

DEFAULT_MIN_AGE_SECONDS = 3600.0
_DEAD_JOB_STATUSES = ("failed", "cancelled")


@dataclass
class RecoveryReport:
    temp_files: list[str] = field(default_factory=list)  # relative to the home
    temp_bytes: int = 0
    failed_runs: list[str] = field(default_factory=list)  # MLflow run ids
    removed_uploads: list[str] = field(default_factory=list)  # dataset ids (or orphan folder names)
    removed_results: list[str] = field(default_factory=list)  # job ids whose kept files went
    errors: list[str] = field(default_factory=list)  # a step that could not run, and why

    @property
    def cleaned(self) -> int:
        lists = (self.temp_files, self.failed_runs, self.removed_uploads, self.removed_results)
        return sum(len(items) for items in lists)

    def as_dict(self) -> dict[str, Any]:
        return {
            "temp_files": self.temp_files,
            "temp_bytes": self.temp_bytes,
            "failed_runs": self.failed_runs,
            "removed_uploads": self.removed_uploads,
            "removed_results": self.removed_results,
            "errors": self.errors,
        }


def remove_stale_temp_files(settings: Settings, min_age_seconds: float) -> tuple[list[Path], int]:
    """Delete the stale temp files under the home's data folders; the files and their total size."""
    removed: list[Path] = []
    size = 0
    roots = (
        settings.market_dir,
        settings.features_dir,
        settings.datasets_dir,
        settings.metrics_dir,
        settings.results_dir,
    )
    for root in roots:
        for path in list(stale_temp_files(root, min_age_seconds)):
            try:
                bytes_ = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
            size += bytes_
    return removed, size


def process_alive(pid: int, started: float | None) -> bool:
    """Whether process ``pid`` runs here and, when ``started`` is known, is the one started then."""
    import psutil

    try:
        process = psutil.Process(pid)
        return started is None or abs(process.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:  # it exists, under another user
        return True


def fail_orphaned_runs(
    tracker: MlflowTracker, *, alive: Callable[[int, float | None], bool] = process_alive
) -> list[str]:
    """Mark FAILED every RUNNING run whose training process, on this host, is gone; their ids."""
    from mlflow.entities import ViewType

    client = tracker.client
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    host, failed = socket.gethostname(), []
    token = None
    while experiments:
        page = client.search_runs(
            experiments, "attributes.status = 'RUNNING'", max_results=500, page_token=token
        )
        for run in page:
            reason = _orphan_reason(run.data.tags, host, alive)
            if reason is None:
                continue
            client.set_tag(run.info.run_id, FAILURE_TAG, reason)
            client.set_terminated(run.info.run_id, status="FAILED")
            failed.append(run.info.run_id)
        token = page.token
        if not token:
            break
    return failed


def _orphan_reason(tags: dict[str, str], host: str, alive: Callable[[int, float | None], bool]) -> str | None:
    pid_text, run_host = tags.get(PID_TAG), tags.get(HOST_TAG)
    if pid_text is None or run_host != host:
        return None  # not ours to judge: started elsewhere, or before runs recorded their process
    started_text = tags.get(PROCESS_STARTED_TAG)
    if alive(int(pid_text), float(started_text) if started_text else None):
        return None
    return f"its process (pid {pid_text} on {run_host}) ended without closing the run; failed at recovery"


def remove_abandoned_uploads(settings: Settings, database: Database, min_age_seconds: float) -> list[str]:
    """Remove the uploads of datasets whose job failed or was cancelled (or is gone), and dataset
    folders without a record once ``min_age_seconds`` old; the dataset ids (folder names)."""
    root = settings.datasets_dir
    if not root.is_dir():
        return []
    with database.session() as session:
        rows = session.execute(select(Dataset.id, Job.status).outerjoin(Job, Job.id == Dataset.job_id)).all()
    known = {str(dataset_id) for dataset_id, _ in rows}
    dead = {str(dataset_id) for dataset_id, status in rows if status is None or status in _DEAD_JOB_STATUSES}
    removed = []
    now = time.time()
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name not in known:
            if now - last_change(folder) >= min_age_seconds:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
            continue
        uploads = [p for p in folder.glob("upload*") if p.is_file()] if folder.name in dead else []
        for path in uploads:
            path.unlink(missing_ok=True)
        if uploads:
            removed.append(folder.name)
    return removed


def recover(
    settings: Settings,
    *,
    tracker: MlflowTracker | None = None,
    database: Database | None = None,
    min_age_seconds: float = DEFAULT_MIN_AGE_SECONDS,
) -> RecoveryReport:
    """Run every clean-up step; one that cannot run (a store that is down) is reported, not raised."""
    report = RecoveryReport()
    try:
        files, report.temp_bytes = remove_stale_temp_files(settings, min_age_seconds)
        report.temp_files = [_relative(p, settings.home) for p in files]
    except OSError as exc:  # a folder this process may not read or change
        report.errors.append(f"temp files: {exc}")
    if tracker is not None:
        try:
            report.failed_runs = fail_orphaned_runs(tracker)
        except Exception as exc:  # MLflow raises many types when its store is unreachable
            report.errors.append(f"MLflow runs: {type(exc).__name__}: {exc}")
    if database is not None:
        try:
            report.removed_uploads = remove_abandoned_uploads(settings, database, min_age_seconds)
        except Exception as exc:  # SQLAlchemy and OS errors alike
            report.errors.append(f"dataset uploads: {type(exc).__name__}: {exc}")
    try:
        report.removed_results = prune_results(settings, database, min_age_seconds=min_age_seconds)
    except Exception as exc:  # SQLAlchemy and OS errors alike
        report.errors.append(f"result files: {type(exc).__name__}: {exc}")
    if report.cleaned or report.errors:
        log.warning("recovery: %s", report.as_dict())
    return report


def _relative(path: Path, home: Path) -> str:
    try:
        return str(path.relative_to(home))
    except ValueError:
        return str(path)
