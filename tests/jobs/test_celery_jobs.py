"""Jobs on Celery workers (``TRADEFORGE_JOB_BROKER_URL``): real worker subprocesses on the local RabbitMQ
run them (one submitted through the API itself), with the rows as the record and the API's job events
announced from them; cancelling revokes a
running job; a worker killed mid-job leaves its job failed with the reason, never run again; a job
that does not fit the worker's machine waits, then runs. Each run uses its own queue."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from celery import Celery

from pipelines.app.backtest import backtest_task
from pipelines.db import Database, Job
from pipelines.jobs import JobEvent, JobInfo, JobQueue, TaskKinds
from pipelines.settings import Settings
from tests.jobs.conftest import Who
from tests.jobs.sample_tasks import echo, sleep
from tests.serving_support import app_client, make_user, served_settings, wait_for_job

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
NO_RABBITMQ = "no RabbitMQ server on 127.0.0.1:5672"
REPO = Path(__file__).resolve().parents[2]


def _rabbitmq_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 5672)) == 0


pytestmark = [pytest.mark.rabbitmq, pytest.mark.skipif(not _rabbitmq_up(), reason=NO_RABBITMQ)]


@dataclass
class Cluster:
    """The API (the jobs' leader: it announces and reaps) and a second process's queue (a publisher
    that also knows the sample job kinds) over one database and one broker queue, and the Celery
    workers started for them."""

    settings: Settings
    database: Database
    client: Any
    queue: JobQueue
    home: Path
    events: list[JobEvent] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def primary(self) -> subprocess.Popen[bytes]:
        """The worker now consuming the queue (the last one started)."""
        return self.workers[-1]

    def worker(self, cores: float, log: str) -> subprocess.Popen[bytes]:
        """A job worker subprocess on a machine of ``cores`` cores, logging to ``home/log``."""
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TRADEFORGE_HOME": str(self.home),
            "TRADEFORGE_HISTORY_START": "2024-01-01",
            "TRADEFORGE_JOB_BROKER_URL": BROKER,
            "TRADEFORGE_JOB_QUEUE": self.settings.jobs.job_queue,
            "TRADEFORGE_JOB_HEARTBEAT_SECONDS": "0.5",
        }
        with (self.home / log).open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.jobs.celery_worker_main", str(cores)],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        return proc

    def until(self, job_id: str, done: Callable[[JobInfo], bool], timeout: float = 60.0) -> JobInfo:
        deadline = time.monotonic() + timeout
        while True:
            info = self.queue.info(job_id)
            if done(info):
                return info
            assert time.monotonic() < deadline, f"job {job_id} still {info.status} ({info.reason})"
            time.sleep(0.1)

    def of(self, job_id: str) -> list[str]:
        return [e["type"] for e in self.events if e["data"].get("task_id") == job_id]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()  # its jobs' processes end with it
        proc.wait(10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("celery-jobs") / "home"
    settings = served_settings(
        home,
        job_broker_url=BROKER,
        job_queue=f"tradeforge-test-{uuid.uuid4().hex[:12]}",
        job_heartbeat_seconds=0.5,
        job_stale_seconds=5.0,
    )
    with app_client(settings) as client:
        container = client.app.state.container
        publisher = JobQueue(settings, container.database, TaskKinds([backtest_task, echo, sleep]))
        cluster = Cluster(settings, container.database, client, publisher, home)
        container.jobs.subscribe(cluster.events.append)  # what the API's streams and webhooks get
        publisher.subscribe(cluster.events.append)  # what the publishing process announces itself
        cluster.worker(1.5, "worker.log")
        yield cluster
        for proc in cluster.workers:
            _stop(proc)
        publisher.close()
    with Celery(broker=BROKER).connection_for_write() as conn:
        conn.default_channel.queue_delete(settings.jobs.job_queue)


def test_an_api_backtest_job_runs_on_a_worker_into_the_rows_and_the_events(cluster: Cluster) -> None:
    user = make_user(cluster.client)
    body = {"symbol": "AAPL", "strategy": "sma_cross", "start_date": "2024-03-01", "end_date": "2024-09-01"}
    accepted = cluster.client.post(
        "/api/v1/backtest/run", json={**body, "async": True}, headers=user["headers"]
    )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    job = wait_for_job(cluster.client, job_id, user["headers"])
    assert job["status"] == "completed" and job["progress"] == 100, job
    assert job["result"]["num_bars"] > 100 and job["started_at"] is not None
    cluster.until(job_id, lambda _: "task_completed" in cluster.of(job_id), timeout=5)
    with cluster.database.session() as s:
        row = s.get_one(Job, job_id)
        assert row.worker_host == socket.gethostname() and row.heartbeat_at is not None
        assert row.worker_pid is not None and row.worker_pid != os.getpid()  # another process ran it
        assert row.announced_status is None  # its final state was announced
    kinds = cluster.of(job_id)
    assert kinds[0] == "task_queued" and kinds[-1] == "task_completed" and "task_running" in kinds
    assert kinds.count("task_completed") == 1
    final = [e for e in cluster.events if e["type"] == "task_completed" and e["data"]["task_id"] == job_id]
    assert final[0]["data"]["result"] == job["result"] and final[0]["user_id"] == user["id"]


def test_cancelling_revokes_a_running_job(cluster: Cluster) -> None:
    job = cluster.queue.submit("sleep", {"seconds": 60}, owner="ann")
    running = cluster.until(job.id, lambda j: j.status == "running" and j.worker_pid is not None)
    pid = running.worker_pid
    assert pid is not None and psutil.pid_exists(pid)
    cancelled = cluster.queue.cancel(job.id, Who("ann"))
    assert cancelled.status == "cancelled" and cancelled.error == "cancelled by request"
    deadline = time.monotonic() + 15
    while _alive(pid):
        assert time.monotonic() < deadline, "the revoked job's process still runs"
        time.sleep(0.1)
    time.sleep(1.0)  # the worker has written what it had: the row stays cancelled
    assert cluster.queue.info(job.id).status == "cancelled"
    assert cluster.of(job.id).count("task_completed") == 1


def test_a_job_that_does_not_fit_waits_then_runs(cluster: Cluster) -> None:
    first = cluster.queue.submit("sleep", {"seconds": 3}, owner="ann")  # 1 of the worker's 1.5 cores
    cluster.until(first.id, lambda j: j.status == "running")
    second = cluster.queue.submit("echo", {"steps": 2}, owner="ann")  # 1 more core: does not fit
    waiting = cluster.until(second.id, lambda j: j.reason is not None)
    assert waiting.status == "queued"
    assert waiting.reason is not None and waiting.reason.startswith("Insufficient CPU: 0.5 cores available")
    done = cluster.until(second.id, lambda j: j.is_terminal)
    assert done.status == "completed" and done.result is not None and done.result["echo"] is None
    finished = cluster.queue.info(first.id)
    assert finished.status == "completed"
    assert finished.finished_at is not None and done.started_at is not None
    assert done.started_at >= finished.finished_at  # it started only once the first one freed its core


def test_a_killed_worker_leaves_its_job_failed_and_never_runs_it_again(cluster: Cluster) -> None:
    job = cluster.queue.submit("sleep", {"seconds": 60}, owner="ann")
    running = cluster.until(job.id, lambda j: j.status == "running" and j.worker_pid is not None)
    pid = running.worker_pid
    assert pid is not None and _alive(pid)
    cluster.primary.kill()  # kill -9 of the worker mid-job
    cluster.primary.wait(10)
    failed = cluster.until(job.id, lambda j: j.is_terminal, timeout=20)
    assert failed.status == "failed"
    assert failed.error is not None and "stopped while running this job" in failed.error
    deadline = time.monotonic() + 5
    while _alive(pid):  # the job's process ends with its worker
        assert time.monotonic() < deadline, "the killed worker's job still runs"
        time.sleep(0.1)
    # Its message went back to the queue unacknowledged: the next worker receives it and drops it.
    cluster.worker(1.5, "heir.log")
    log = cluster.home / "heir.log"
    deadline = time.monotonic() + 90  # its start-up includes the job fork server's imports
    while f"job {job.id} is failed, not queued" not in log.read_text(errors="replace"):
        assert cluster.primary.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)
    again = cluster.queue.info(job.id)
    assert (again.status, again.started_at, again.error) == ("failed", failed.started_at, failed.error)
    assert cluster.of(job.id).count("task_completed") == 1


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
