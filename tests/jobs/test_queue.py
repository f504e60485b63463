"""The job queue with real worker processes on a real SQLite app database."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest
from sqlalchemy import func, select

from pipelines.db import Database, Job
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError, PermissionDeniedError
from pipelines.jobs import RESTART_REASON, JobEvent, JobQueue
from tests.jobs.conftest import Who
from tests.jobs.sample_tasks import FakeProbe

ADMIN = Who("root", is_admin=True)
MakeQueue = Callable[..., JobQueue]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_job_runs_in_a_worker_process_and_reports_progress_in_order(make_queue: MakeQueue) -> None:
    events: list[JobEvent] = []
    queue = make_queue().start()
    queue.subscribe(events.append)
    job = queue.submit("echo", {"value": "hi", "steps": 4, "pause": 0.2}, owner="ann")
    done = queue.wait(job.id, timeout=20)
    assert done.status == "completed" and done.progress == 100.0 and done.error is None
    assert done.result is not None and done.result["echo"] == "hi"
    assert done.result["pid"] != os.getpid()  # ran in another process
    assert done.result["home"] == str(queue.settings.home)
    assert (
        done.started_at is not None and done.finished_at is not None and done.finished_at >= done.started_at
    )
    types = [e["type"] for e in events]
    assert types[:2] == ["task_queued", "task_running"] and types[-1] == "task_completed"
    assert events[0]["data"] == {"task_id": job.id, "task_type": "echo", "queue_position": 1}
    assert events[1]["data"] == {"task_id": job.id, "task_type": "echo", "description": "Echoing..."}
    assert all(e["user_id"] == "ann" for e in events)
    updates = [e["data"] for e in events if e["type"] == "task_description_update"]
    assert [u["progress"] for u in updates][:4] == [20.0, 40.0, 60.0, 80.0]
    assert updates[-1]["progress"] == 100.0 and updates[0]["description"] == "step 1"
    assert events[-1]["data"] == {
        "task_id": job.id,
        "task_type": "echo",
        "status": "completed",
        "result": done.result,
    }


def test_progress_is_written_at_most_every_interval(make_queue: MakeQueue) -> None:
    events: list[JobEvent] = []
    queue = make_queue(progress_interval=10.0).start()
    queue.subscribe(events.append)
    job = queue.submit("echo", {"steps": 20})
    assert queue.wait(job.id, timeout=20).status == "completed"
    updates = [e["data"]["progress"] for e in events if e["type"] == "task_description_update"]
    assert updates == [100.0]  # 20 reports inside one interval: only the final state is written


def test_queued_for_resources_with_the_002_reason_then_admitted_first_in_first_out(
    make_queue: MakeQueue, probe: FakeProbe
) -> None:
    probe.available_gb = 8.5
    queue = make_queue().start()
    big = queue.submit("big", {})
    assert big.status == "queued" and big.queue_position == 1
    assert big.reason == "Insufficient RAM: 8.5 GB available, 12.0 GB required"
    assert big.message == "Big queued due to insufficient resources. Position in queue: 1"
    small = queue.submit("echo", {"steps": 0})  # fits, but does not overtake the head of the queue
    assert small.status == "queued" and small.queue_position == 2
    assert small.reason == "Waiting for 1 earlier queued job(s)"
    snap = queue.snapshot()
    assert snap["running_count"] == 0 and snap["queued_count"] == 2
    assert [(t["task_id"], t["queue_position"]) for t in snap["queued_tasks"]] == [(big.id, 1), (small.id, 2)]
    assert snap["queued_tasks"][0]["estimated_ram_gb"] == 12.0
    assert snap["queued_tasks"][0]["estimated_cpu_cores"] == 4.0
    assert snap["queued_tasks"][0]["queued_at"].endswith("Z")
    time.sleep(0.3)  # the scheduler polls: still nothing may start
    assert queue.info(small.id).status == "queued"

    probe.available_gb = 16.0
    first, second = queue.wait(big.id, timeout=20), queue.wait(small.id, timeout=20)
    assert first.status == second.status == "completed"
    assert first.started_at is not None and second.started_at is not None
    assert first.started_at <= second.started_at


def test_cpu_shortage_names_the_free_and_required_cores(make_queue: MakeQueue, probe: FakeProbe) -> None:
    probe.cores, probe.total_gb, probe.available_gb = 4.5, 64.0, 64.0
    queue = make_queue().start()
    running = queue.submit("sleep", {"seconds": 30})
    assert running.status == "running"
    assert queue.resources() == {
        "cpu": {"available_cores": 4.5, "in_use_cores": 1.0, "usage_percent": 22.22},
        "ram": {"total_gb": 64.0, "available_gb": 63.0, "in_use_gb": 1.0, "usage_percent": 1.56},
    }
    waiting = queue.submit("big", {})
    assert waiting.status == "queued"
    assert waiting.reason == "Insufficient CPU: 3.5 cores available, 4.0 required"
    queue.cancel(running.id, ADMIN)  # the cores come back: the big job starts
    assert queue.wait(waiting.id, timeout=20).status == "completed"


def test_capacity_one_runs_jobs_one_after_another_in_order(make_queue: MakeQueue) -> None:
    queue = make_queue(max_workers=1).start()
    jobs = [queue.submit("echo", {"value": i, "steps": 1}) for i in range(3)]
    assert [j.status for j in jobs] == ["running", "queued", "queued"]
    assert [j.queue_position for j in jobs] == [None, 1, 2]
    assert jobs[2].reason == "All 1 job workers are busy"
    done = [queue.wait(j.id, timeout=30) for j in jobs]
    assert [d.result["echo"] for d in done if d.result] == [0, 1, 2]
    for before, after in itertools.pairwise(done):
        assert before.finished_at is not None and after.started_at is not None
        assert before.finished_at <= after.started_at


def test_cancel_a_queued_and_a_running_job(make_queue: MakeQueue) -> None:
    events: list[JobEvent] = []
    queue = make_queue(max_workers=1).start()
    queue.subscribe(events.append)
    running = queue.submit("sleep", {"seconds": 60}, owner="ann")
    queued = queue.submit("echo", {}, owner="ann")
    wait_until(lambda: queue.info(running.id).worker_pid is not None)
    pid = queue.info(running.id).worker_pid
    assert pid is not None and psutil.pid_exists(pid)

    cancelled = queue.cancel(queued.id, Who("ann"))
    assert cancelled.status == "cancelled" and cancelled.queue_position is None
    stopped = queue.cancel(running.id, Who("ann"))
    assert stopped.status == "cancelled" and stopped.finished_at is not None
    assert not psutil.pid_exists(pid)  # the worker is really gone (terminated and reaped)
    finals = [e["data"] for e in events if e["type"] == "task_completed"]
    assert {(f["task_id"], f["status"]) for f in finals} == {
        (queued.id, "cancelled"),
        (running.id, "cancelled"),
    }
    with pytest.raises(ConflictError, match="already cancelled"):
        queue.cancel(running.id, Who("ann"))
    assert queue.snapshot()["running_count"] == 0 and queue.resources()["cpu"]["in_use_cores"] == 0.0


def test_a_failure_is_captured_with_its_message(make_queue: MakeQueue) -> None:
    queue = make_queue().start()
    failed = queue.wait(queue.submit("fail", {"why": "bad luck"}).id, timeout=20)
    assert failed.status == "failed" and failed.error == "RuntimeError: boom: bad luck"
    assert failed.result is None and failed.progress == 50.0
    crashed = queue.wait(queue.submit("crash", {}).id, timeout=20)
    assert crashed.status == "failed"
    assert crashed.error == "the worker process exited unexpectedly (exit code 7)"


def test_a_worker_that_outgrows_its_declared_memory_is_stopped_with_the_reason(make_queue: MakeQueue) -> None:
    queue = make_queue(memory_margin_gb=0.25, memory_interval=0.1).start()
    began = time.monotonic()
    job = queue.wait(queue.submit("hog", {"gb": 4}).id, timeout=30)
    assert job.status == "failed" and job.result is None
    assert job.error is not None
    assert job.error.startswith("the job exceeded its declared memory of 0.25 GB (used 0.")
    used = float(job.error.split("(used ")[1].split(" GB")[0])
    assert 0.5 <= used < 1.5  # stopped soon after it passed 0.5 GB (shown to 2 decimals), far from 4 GB
    assert time.monotonic() - began < 20
    assert queue.resources()["cpu"]["in_use_cores"] == 0.0
    echoed = queue.wait(queue.submit("echo", {"value": 1}).id, timeout=20)  # the queue goes on
    assert echoed.status == "completed"


def test_a_user_sees_and_cancels_only_their_own_jobs(make_queue: MakeQueue, database: Database) -> None:
    queue = make_queue()  # not started: jobs stay queued
    mine = queue.submit("echo", {}, owner="ann")
    theirs = queue.submit("echo", {}, owner="bob")
    assert queue.get(mine.id, Who("ann")).id == mine.id
    assert queue.get(theirs.id, ADMIN).user_id == "bob"
    with pytest.raises(PermissionDeniedError, match="another user"):
        queue.get(theirs.id, Who("ann"))
    with pytest.raises(PermissionDeniedError):
        queue.cancel(theirs.id, Who("ann"))
    assert queue.info(theirs.id).status == "queued"  # refused: nothing changed
    with pytest.raises(DataNotFoundError, match="no job"):
        queue.get("00000000-0000-0000-0000-000000000000", ADMIN)
    assert [j.id for j in queue.list_jobs(Who("ann"))] == [mine.id]
    assert {j.id for j in queue.list_jobs(ADMIN)} == {mine.id, theirs.id}
    own = queue.snapshot("bob")
    assert own["queued_count"] == 1 and own["queued_tasks"][0]["queue_position"] == 2


def test_a_restart_fails_the_interrupted_job_and_resumes_the_queue(
    make_queue: MakeQueue, database: Database
) -> None:
    first = make_queue(max_workers=1).start()
    interrupted = first.submit("sleep", {"seconds": 60})
    waiting = [first.submit("echo", {"value": i, "steps": 1}) for i in range(2)]
    wait_until(lambda: first.info(interrupted.id).worker_pid is not None)
    pid = first.info(interrupted.id).worker_pid
    assert pid is not None
    first.close()  # no waiting: like a crash, the rows stay as they were
    assert not psutil.pid_exists(pid)
    assert first.info(interrupted.id).status == "running"
    assert [first.info(j.id).status for j in waiting] == ["queued", "queued"]

    events: list[JobEvent] = []
    second = make_queue(max_workers=1)
    second.subscribe(events.append)
    second.start()
    failed = second.info(interrupted.id)
    assert failed.status == "failed" and failed.error == RESTART_REASON
    done = [second.wait(j.id, timeout=30) for j in waiting]
    assert [d.status for d in done] == ["completed", "completed"]
    assert done[0].finished_at is not None and done[1].started_at is not None
    assert done[0].finished_at <= done[1].started_at
    assert events[0] == {
        "type": "task_completed",
        "data": {
            "task_id": interrupted.id,
            "task_type": "sleep",
            "status": "failed",
            "error": RESTART_REASON,
        },
        "user_id": None,
    }


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("echo", {"steps": "many"}, "steps must be an integer"),
        ("nope", {}, "unknown job kind 'nope'"),
        ("echo", ["not", "a", "dict"], "must be a JSON object"),
        ("echo", {"value": object()}, "must be JSON values"),
        ("echo", {"value": float("nan")}, "must be JSON values"),
        ("huge", {}, "needs 64.0 CPU cores; this machine has 8.0 in all"),
        ("sized", {"gb": 20}, "a sized job needs 20.0 GB of RAM; this machine has 16.0 GB in all"),
    ],
)
def test_bad_input_is_refused_at_submission_and_nothing_is_queued(
    make_queue: MakeQueue, database: Database, kind: str, params: Any, message: str
) -> None:
    events: list[JobEvent] = []
    queue = make_queue().start()
    queue.subscribe(events.append)
    with pytest.raises(InvalidRequestError, match=message):
        queue.submit(kind, params)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    assert events == []


def test_close_waiting_lets_running_jobs_finish(make_queue: MakeQueue) -> None:
    queue = make_queue().start()
    job = queue.submit("sleep", {"seconds": 0.3})
    queue.close(wait=True, timeout=20)
    assert queue.info(job.id).status == "completed"
    with pytest.raises(ConflictError, match="shutting down"):
        queue.submit("echo", {})


def test_a_job_declares_the_ram_its_parameters_need(make_queue: MakeQueue, probe: Any) -> None:
    probe.available_gb = 4.0
    queue = make_queue()  # not started: the jobs stay queued
    small, large = queue.submit("sized", {"gb": 0.2}), queue.submit("sized", {"gb": 6.5})
    assert (small.est_ram_gb, large.est_ram_gb) == (1.0, 6.5)  # the kind's ram_gb is the floor
    queue.start()
    assert queue.wait(small.id, timeout=30).status == "completed"
    waiting = queue.info(large.id)
    assert waiting.status == "queued"
    assert waiting.reason == "Insufficient RAM: 4.0 GB available, 6.5 GB required"


def test_progress_detail_reaches_the_row_and_the_events(make_queue: MakeQueue) -> None:
    """A task's structured detail (the training platform's epoch and metrics) is stored on the job
    row with its progress and published with the description update; the latest one wins."""
    events: list[JobEvent] = []
    queue = make_queue().start()
    queue.subscribe(events.append)
    job = queue.submit("echo", {"steps": 4})
    done = queue.wait(job.id, timeout=20)
    assert done.status == "completed" and done.detail == {"step": 4, "of": 4}
    details = [e["data"]["detail"] for e in events if e["type"] == "task_description_update"]
    assert details and details[-1] == {"step": 4, "of": 4}
    assert [d["step"] for d in details] == sorted(d["step"] for d in details)
    assert all(e["data"]["task_type"] == "echo" for e in events if e["type"] == "task_description_update")
