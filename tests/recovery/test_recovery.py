"""Recovery after killed processes, on real files, a real MLflow store, app database and job queue."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.app.accounts import register_user
from pipelines.app.datasets import DatasetCatalog, check_upload
from pipelines.app.jobs import default_tasks
from pipelines.app.recovery import recover
from pipelines.cli import app
from pipelines.data.ingest import ingest, plan_ingest
from pipelines.data.stored_bars import load_bars
from pipelines.db import Database, open_database
from pipelines.jobs import JobQueue
from pipelines.jobs.resources import Demand
from pipelines.jobs.workers import WorkerRun, worker_context
from pipelines.models.tracking import FAILURE_TAG, PID_TAG, open_tracker
from pipelines.settings import Settings, get_settings
from tests.recovery.tasks import hold_a_run
from tests.serving_support import app_client, served_settings

HOUR = 3600.0


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = open_database(settings)
    yield db
    db.close()


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _stored(settings: Settings) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(settings.market_dir.rglob("data.parquet"))}


def test_stale_temp_files_go_and_the_data_stays(settings: Settings) -> None:
    request = plan_ingest(settings, source="synthetic", symbols=["AAPL"], timeframe="1d", start="2024-01-01")
    ingest(settings, request)
    before = _stored(settings)
    year_dir = Path(next(iter(before))).parent
    stale = year_dir / f".data.parquet.{'a' * 32}.tmp"  # a write killed an hour ago
    fresh = year_dir / f".data.parquet.{'b' * 32}.tmp"  # a write under way in another process
    other = year_dir / ".notes.tmp"  # not a temp file of ours
    for path in (stale, fresh, other):
        path.write_bytes(b"x" * 1000)
    _age(stale, 2 * HOUR)
    _age(other, 2 * HOUR)

    report = recover(settings)

    assert not stale.exists() and fresh.exists() and other.exists()
    assert report.temp_files == [str(stale.relative_to(settings.home))] and report.temp_bytes == 1000
    assert _stored(settings) == before
    rows = sum(len(pd.read_parquet(p)) for p in before)
    assert len(load_bars(settings, source="synthetic", symbol="AAPL", timeframe="1d")) == rows


def test_a_running_run_of_a_dead_process_is_failed_with_the_reason(settings: Settings) -> None:
    tracker = open_tracker(settings)
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from pipelines.models.tracking import MlflowTracker\n"
        "t = MlflowTracker(sys.argv[1], Path(sys.argv[2]))\n"
        "with t.run('crashy', 'killed-mid-run', {}) as run:\n"
        "    print(run.run_id, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    artifacts = str(settings.home / "mlflow" / "artifacts")
    done = subprocess.run(
        [sys.executable, "-c", code, tracker.uri, artifacts], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -9, done.stderr
    dead_run = done.stdout.strip()
    assert tracker.client.get_run(dead_run).info.status == "RUNNING"
    with tracker.run("alive", "still-training", {}) as live:  # this process is alive: left alone
        report = recover(settings, tracker=tracker)
        assert tracker.client.get_run(live.run_id).info.status == "RUNNING"

    run = tracker.client.get_run(dead_run)
    assert report.failed_runs == [dead_run]
    assert run.info.status == "FAILED"
    assert "ended without closing the run" in run.data.tags[FAILURE_TAG]
    assert run.data.tags[PID_TAG] in run.data.tags[FAILURE_TAG]
    assert recover(settings, tracker=tracker).failed_runs == []  # nothing left to do


def test_a_cancelled_training_ends_its_run_killed_at_once(settings: Settings) -> None:
    tracker = open_tracker(settings)
    params = {"uri": tracker.uri, "artifacts": str(settings.home / "mlflow" / "artifacts")}
    worker = WorkerRun.start(
        worker_context([hold_a_run.__module__]),  # where the scheduler starts its workers
        hold_a_run,
        params,
        settings,
        job_id="job-1",
        kind="train",
        user_id=None,
        demand=Demand(1.0, 1.0),
        description="",
    )
    deadline = time.monotonic() + 120
    while worker.progress < 10.0 and time.monotonic() < deadline:
        worker.read()
        time.sleep(0.05)
    run_id = worker.description
    assert tracker.client.get_run(run_id).info.status == "RUNNING"

    worker.stop()  # what cancelling the job does: SIGTERM, SIGKILL after a grace period

    assert worker.outcome == ("error", "stopped (exit status 143)")  # it unwound on SIGTERM
    run = tracker.client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags[FAILURE_TAG] == "the process was stopped"


def test_a_cancelled_dataset_job_loses_its_upload(settings: Settings, database: Database) -> None:
    with database.transaction() as session:
        owner = register_user(session, "alice", "correct-horse-battery").id
    queue = JobQueue(settings, database, default_tasks())  # not started: jobs stay queued
    catalog = DatasetCatalog(settings, database, queue)

    def upload(name: str) -> str:
        request = check_upload(
            name=name, description=None, dataset_type="regression", file_name="d.csv", target="y"
        )
        return catalog.upload(owner, request, io.BytesIO(b"x,y\n1,2\n3,4\n5,6\n")).record.id

    cancelled, waiting = upload("prices"), upload("other")
    job_id = catalog.get(cancelled, _Admin()).record.job_id
    assert job_id is not None
    assert queue.cancel(job_id, _Admin()).status == "cancelled"
    folder = settings.datasets_dir / cancelled
    assert (folder / "upload.csv").is_file()  # what a cancelled job used to leave behind
    # folders no dataset records: an upload whose server died before recording it, and one under way
    crashed, streaming = (settings.datasets_dir / str(uuid.UUID(int=n)) for n in (1, 2))
    for orphan in (crashed, streaming):
        orphan.mkdir()
        (orphan / "upload.csv").write_bytes(b"x,y\n")
    _age(crashed / "upload.csv", 2 * HOUR)
    _age(crashed, 2 * HOUR)
    _age(streaming, 2 * HOUR)  # its file is still being written

    report = recover(settings, database=database)

    assert sorted(report.removed_uploads) == sorted([cancelled, crashed.name])
    assert not crashed.exists() and (streaming / "upload.csv").is_file()
    assert not (folder / "upload.csv").exists()
    assert (settings.datasets_dir / waiting / "upload.csv").is_file()  # still to be processed


class _Admin:
    id = "operator"
    is_admin = True


def test_data_check_repair_prints_what_it_cleaned(settings: Settings, env_home: Path) -> None:
    home = get_settings().home
    stale = home / "market" / "source=synthetic" / f".data.parquet.{'c' * 32}.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"y" * 2048)
    _age(stale, 2 * HOUR)

    result = CliRunner().invoke(app, ["data", "check", "--repair", "--json"])

    assert result.exit_code == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["temp_files"] == [str(stale.relative_to(home))] and body["temp_bytes"] == 2048
    assert body["failed_runs"] == [] and body["removed_uploads"] == [] and body["errors"] == []
    assert not stale.exists()
    text = CliRunner().invoke(app, ["data", "check", "--repair"])
    assert text.exit_code == 0 and "0 stale temp files" in text.stdout
    refused = CliRunner().invoke(app, ["data", "check"])
    assert refused.exit_code == 2 and "--repair" in refused.stderr


def test_the_serving_leader_recovers_at_start_up(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home")
    stale = settings.features_dir / f".features.parquet.{'d' * 32}.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"z")
    _age(stale, 2 * HOUR)
    with app_client(settings) as client:
        assert client.get("/health").status_code == 200
        deadline = time.monotonic() + 30  # recovery runs beside start-up, not before it
        while stale.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not stale.exists()
