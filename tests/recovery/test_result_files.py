"""Kept result files (a cut answer's full curve and trades) stay bounded: the recovery removes those of
jobs that no longer exist and those past ``result_files_days``; writing new ones drops expired ones."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipelines.app.recovery import recover
from pipelines.backtest.full_curve import curve_table
from pipelines.db import Database, open_database
from pipelines.jobs.files import record_completed, write_job_files
from pipelines.settings import Settings

HOUR, DAY = 3600.0, 86_400.0


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = open_database(settings)
    yield db
    db.close()


def _table() -> object:
    ts = np.arange(3, dtype=np.int64) * 3_600_000_000_000
    return curve_table(ts, np.array([100.0, 90.0, 120.0]))


def _kept(settings: Settings, database: Database | None, *, age: float) -> str:
    """A result folder (of a recorded job when ``database`` is given), last changed ``age`` ago."""
    job_id = str(uuid.uuid4())
    write_job_files(settings, job_id, {"equity_curve": _table()})  # type: ignore[dict-item]
    if database is not None:
        record_completed(database, job_id, "backtest", {}, "someone", {"status": "success"})
    _age(settings.results_dir / job_id, age)
    return job_id


def _age(folder: Path, seconds: float) -> None:
    then = time.time() - seconds
    for path in (*folder.iterdir(), folder):
        os.utime(path, (then, then))


def test_the_recovery_removes_orphaned_and_expired_results(settings: Settings, database: Database) -> None:
    live = _kept(settings, database, age=2 * HOUR)
    orphan = _kept(settings, None, age=2 * HOUR)  # its job is gone (or was never recorded)
    writing = _kept(settings, None, age=0)  # a synchronous run about to record its job
    expired = _kept(settings, database, age=settings.jobs.result_files_days * DAY + HOUR)  # written last
    stale_tmp = settings.results_dir / live / f".trades.parquet.{'e' * 32}.tmp"
    stale_tmp.write_bytes(b"x")
    _age(settings.results_dir / live, 2 * HOUR)

    report = recover(settings, database=database)

    assert sorted(report.removed_results) == sorted([expired, orphan])
    assert report.temp_files == [str(stale_tmp.relative_to(settings.home))]
    assert not (settings.results_dir / expired).exists() and not (settings.results_dir / orphan).exists()
    table = pq.read_table(settings.results_dir / live / "equity_curve.parquet")
    assert table.column("drawdown").to_pylist() == pytest.approx([0.0, -0.1, 0.0])
    assert (settings.results_dir / writing / "equity_curve.parquet").is_file()


def test_writing_results_drops_expired_ones(settings: Settings) -> None:
    old = _kept(settings, None, age=settings.jobs.result_files_days * DAY + HOUR)
    recent = _kept(settings, None, age=(settings.jobs.result_files_days - 1) * DAY)
    _kept(settings, None, age=0)
    assert not (settings.results_dir / old).exists()
    assert (settings.results_dir / recent).is_dir()


def test_a_job_id_never_leaves_the_results_folder(settings: Settings) -> None:
    from pipelines.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="not a job id"):
        write_job_files(settings, "../market", {"equity_curve": _table()})  # type: ignore[dict-item]
    assert not (settings.home / "market").exists()
