"""The two halves of the Celery job queue without a broker: the worker's runner (admission, the claim,
the job's process, the rows) and the API's dispatch (announcing the rows' changes as job events,
reaping the jobs of dead workers, failing a job the broker would not take)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from pipelines.db import Database, Job
from pipelines.db.types import utc_now
from pipelines.errors import BusyError
from pipelines.jobs import EventBus, JobEvent, JobQueue
from pipelines.jobs.dispatch import CeleryDispatch
from pipelines.jobs.runner import JobRunner
from pipelines.settings import Settings
from tests.jobs.sample_tasks import FakeProbe, sample_tasks

DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1//"  # nothing listens there: publishing fails at once


@pytest.fixture
def remote(settings: Settings) -> Settings:
    update = {"job_broker_url": DEAD_BROKER, "job_heartbeat_seconds": 0.2, "job_stale_seconds": 2.0}
    return settings.model_copy(update=update)


@pytest.fixture
def dispatch(remote: Settings, database: Database) -> Iterator[tuple[CeleryDispatch, list[JobEvent]]]:
    events: list[JobEvent] = []
    bus = EventBus()
    bus.subscribe(events.append)
    d = CeleryDispatch(remote, database, bus, probe=FakeProbe(), poll_interval=0.1)
    yield d, events
    d.close(wait=False, timeout=None)


def _queued(database: Database, kind: str, params: dict[str, object], cores: float = 1.0) -> str:
    with database.transaction() as s:
        job = Job(
            kind=kind,
            status="queued",
            params=params,
            user_id="ann",
            est_cpu_cores=cores,
            est_ram_gb=1.0,
            announced_status="queued",
        )
        s.add(job)
        s.flush()
        return job.id


def _types(events: list[JobEvent], job_id: str) -> list[str]:
    return [e["type"] for e in events if e["data"]["task_id"] == job_id]


def test_a_runner_runs_a_job_once_and_the_leader_announces_it_once(
    remote: Settings, database: Database, dispatch: tuple[CeleryDispatch, list[JobEvent]]
) -> None:
    leader, events = dispatch
    job_id = _queued(database, "echo", {"steps": 2, "value": 7})
    runner = JobRunner(remote, database, sample_tasks(), probe=FakeProbe(cores=2.0))
    assert runner.run(job_id) is None
    with database.session() as s:
        row = s.get_one(Job, job_id)
        assert (row.status, row.progress) == ("completed", 100.0)
        assert row.result is not None and row.result["echo"] == 7
        assert row.worker_host and row.heartbeat_at is not None and row.announced_status == "queued"
    leader.sweep()
    leader.sweep()
    assert _types(events, job_id) == ["task_running", "task_description_update", "task_completed"]
    done = next(e for e in events if e["type"] == "task_completed")
    assert done["data"]["result"]["echo"] == 7 and done["user_id"] == "ann"
    assert runner.run(job_id) is None  # a second delivery of its message: dropped, not run
    with database.session() as s:
        assert s.get_one(Job, job_id).finished_at == row.finished_at


def test_a_job_larger_than_the_machine_stays_queued_for_another(remote: Settings, database: Database) -> None:
    job_id = _queued(database, "echo", {"steps": 1}, cores=4.0)
    runner = JobRunner(remote, database, sample_tasks(), probe=FakeProbe(cores=2.0), retry_seconds=3.0)
    assert runner.run(job_id) == 3.0
    with database.session() as s:
        row = s.get_one(Job, job_id)
        assert row.status == "queued" and row.started_at is None
        assert row.reason == f"a echo job needs 4.0 CPU cores; this machine has 2.0 in all (on {runner.host})"


def test_the_leader_fails_a_job_whose_worker_stopped_beating(
    database: Database, dispatch: tuple[CeleryDispatch, list[JobEvent]]
) -> None:
    leader, events = dispatch
    stale, alive = _queued(database, "sleep", {}), _queued(database, "sleep", {})
    now = utc_now()
    with database.transaction() as s:
        for job_id, beat in ((stale, now - dt.timedelta(seconds=30)), (alive, now)):
            job = s.get_one(Job, job_id)
            job.status, job.started_at, job.heartbeat_at, job.worker_host = "running", now, beat, "gpu-1"
            job.announced_status = "running"
    leader.sweep()
    with database.session() as s:
        failed, running = s.get_one(Job, stale), s.get_one(Job, alive)
        assert failed.status == "failed" and failed.announced_status is None
        assert failed.error is not None and failed.error.startswith("the job worker on gpu-1 stopped")
        assert running.status == "running"
    assert _types(events, stale) == ["task_completed"] and _types(events, alive) == [
        "task_description_update"
    ]
    leader.sweep()
    assert _types(events, stale) == ["task_completed"]


def test_a_job_the_broker_does_not_take_fails_with_the_reason(
    remote: Settings, database: Database, probe: FakeProbe
) -> None:
    queue = JobQueue(remote, database, sample_tasks(), probe=probe)
    events: list[JobEvent] = []
    queue.subscribe(events.append)
    try:
        with pytest.raises(BusyError, match="job broker could not be reached"):
            queue.submit("echo", {"steps": 1}, owner="ann")
    finally:
        queue.close()
    with database.session() as s:
        job = s.scalars(select(Job)).one()
        assert job.status == "failed" and job.error is not None and "broker" in job.error
    assert [e["type"] for e in events] == ["task_queued", "task_completed"]


def test_local_mode_is_the_default(make_queue: Callable[..., JobQueue], database: Database) -> None:
    queue = make_queue()
    assert queue.remote is False
    job = queue.submit("echo", {"steps": 1})
    with database.session() as s:
        assert s.get_one(Job, job.id).announced_status is None
