"""Files a job leaves for download: the full equity curve and trade list of an answer that was cut to
``max_response_points``, under ``$TRADEFORGE_HOME/results/<job_id>/<name>.parquet``.

They are written atomically, found only for the job's owner or an admin (the checks of the job
routes: an unknown job is DataNotFoundError, someone else's PermissionDeniedError), streamed as
Parquet or CSV, and removed once ``result_files_days`` old or, by the recovery, once no job record
points to them. A synchronous run that keeps files is recorded as a completed job of its caller
(``record_completed``), so its files are owned, found and removed like an async job's.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select

from pipelines.atomic import atomic_target, last_change
from pipelines.db.engine import Database
from pipelines.db.job_models import Job
from pipelines.db.types import isoformat_utc, utc_now
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.jobs.records import Requester, check_owner, load_job
from pipelines.jobs.worker import json_safe
from pipelines.settings import Settings

__all__ = [
    "FILE_FORMATS",
    "JOB_FILES",
    "csv_chunks",
    "file_links",
    "job_file",
    "job_files_dir",
    "prune_results",
    "record_completed",
    "write_job_files",
]

JOB_FILES = ("equity_curve", "trades")
FILE_FORMATS = ("parquet", "csv")
_ID = re.compile(r"^[0-9A-Za-z-]{1,36}$")  # job ids are UUIDs: never a path separator or ".."
_CSV_BATCH_ROWS = 65_536
_DAY = 86_400.0


def job_files_dir(settings: Settings, job_id: str) -> Path:
    if not _ID.fullmatch(job_id):
        raise InvalidRequestError(f"not a job id: {job_id!r}")
    return settings.results_dir / job_id


def write_job_files(settings: Settings, job_id: str, tables: Mapping[str, pa.Table]) -> None:
    """Write each table as ``<name>.parquet`` of the job, atomically; results past their days go."""
    folder = job_files_dir(settings, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if name not in JOB_FILES:
            raise ValueError(f"unknown job file {name!r}; expected one of {', '.join(JOB_FILES)}")
        with atomic_target(folder / f"{name}.parquet") as tmp:
            pq.write_table(table, tmp)
    prune_results(settings)


def file_links(settings: Settings, job_id: str) -> dict[str, Any]:
    """Where to download a job's files, in which formats, and until when they are kept."""
    base = f"/api/v1/jobs/{job_id}/files"
    kept_until = utc_now() + dt.timedelta(days=settings.jobs.result_files_days)
    return {
        "job_id": job_id,
        "equity_curve_url": f"{base}/equity_curve",
        "trades_url": f"{base}/trades",
        "formats": list(FILE_FORMATS),
        "expires_at": isoformat_utc(kept_until),
    }


def job_file(settings: Settings, database: Database, job_id: str, name: str, user: Requester) -> Path:
    """The Parquet file ``name`` of a job that ``user`` may see."""
    if name not in JOB_FILES:
        raise InvalidRequestError(f"unknown job file {name!r}; expected one of {', '.join(JOB_FILES)}")
    with database.session() as session:
        check_owner(load_job(session, job_id), user)
    path = job_files_dir(settings, job_id) / f"{name}.parquet"
    if not path.is_file():
        raise DataNotFoundError(
            f"job {job_id} has no {name} file: only an answer whose curve or trades were cut keeps "
            f"them, for {settings.jobs.result_files_days} days"
        )
    return path


def csv_chunks(path: Path) -> Iterator[bytes]:
    """``path`` (Parquet) as CSV text with a header row, a batch of rows at a time."""
    parquet = pq.ParquetFile(path)
    options = pacsv.WriteOptions(include_header=True)
    empty = True
    for batch in parquet.iter_batches(batch_size=_CSV_BATCH_ROWS):
        yield _csv(pa.Table.from_batches([batch]), options)
        options, empty = pacsv.WriteOptions(include_header=False), False
    if empty:
        yield _csv(parquet.schema_arrow.empty_table(), options)


def _csv(table: pa.Table, options: pacsv.WriteOptions) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=options)
    return sink.getvalue()


def record_completed(
    database: Database, job_id: str, kind: str, params: dict[str, Any], owner: str, result: dict[str, Any]
) -> None:
    """Record a run answered synchronously as a completed job of ``owner`` (its files' owner), its
    result stored as a worker's is (NaN and infinities as null)."""
    now = utc_now()
    with database.transaction() as session:
        session.add(
            Job(
                id=job_id,
                kind=kind,
                status="completed",
                progress=100.0,
                description=f"{kind.replace('_', ' ').capitalize()} answered synchronously",
                params=json_safe(params),
                result=json_safe(result),
                user_id=owner,
                created_at=now,
                started_at=now,
                finished_at=now,
            )
        )


def prune_results(
    settings: Settings, database: Database | None = None, *, min_age_seconds: float = 3600.0
) -> list[str]:
    """Remove the result folders older than ``result_files_days`` and, given the database, those no
    job record points to once ``min_age_seconds`` old (a synchronous run writes its files before
    recording its job); the job ids removed."""
    root = settings.results_dir
    if not root.is_dir():
        return []
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    known = None if database is None else _known_jobs(database, [p.name for p in folders])
    now, removed = time.time(), []
    for folder in folders:
        try:
            age = now - last_change(folder)
        except FileNotFoundError:  # removed meanwhile
            continue
        expired = age >= settings.jobs.result_files_days * _DAY
        orphaned = known is not None and folder.name not in known and age >= min_age_seconds
        if expired or orphaned:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def _known_jobs(database: Database, ids: list[str]) -> set[str]:
    known: set[str] = set()
    with database.session() as session:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            known.update(session.scalars(select(Job.id).where(Job.id.in_(chunk))))
    return known
