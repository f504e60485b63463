"""The platform spread over three hosts: network namespaces on one veth bridge of this machine.

- API host: ``tradeforge serve --workers 2`` (two Litestar workers on uvicorn), home of its own.
- worker host: two ``tradeforge jobs worker`` processes (Celery) and the Bento (``bentoml serve``),
  home of their own.
- store host: the moto S3 server (``TRADEFORGE_DATA_URL=s3://...``, MLflow's artifacts beside the data)
  and the machine's PostgreSQL (the app database and MLflow's backend, one fresh database each), Redis
  (an empty database number) and RabbitMQ (a queue of this run), reached at the store host's address:
  a relay (tests/cluster/relay.py) opens its listening sockets inside the store namespace and carries
  each connection to 127.0.0.1 of the machine, which no process inside a namespace can reach.

Each host runs under a host name of its own (a UTS namespace), so a job row naming the worker host
proves where the job ran. The test process (the machine's own namespace, the bridge's ``.1``) is the
client. Through the API host it ingests, trains as a job the worker host runs, predicts through the
Bento, follows the job's events on the API worker that neither ran nor announced the job, revokes an
API key and sees both API workers refuse it at once, and kills the Celery process running a job
(kill -9): its message, back on the broker, is dropped by the other worker, the job ends failed with
the reason (never run again), and a job submitted after the kill runs once. Namespaces, veths,
bridge, processes and stores are removed, pass or fail.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from pipelines.db.job_models import Job
from tests.celery_support import services_missing
from tests.cluster.api_workers import ApiWorkers, Event, EventStream
from tests.cluster.network import Processes, bridged_hosts, namespaces_unavailable
from tests.cluster.stack import ADMIN, CELERY, STALE_SECONDS, Stack, running_stack
from tests.net_support import NO_REDIS, bento_batches, redis_up

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.rabbitmq,
]

MODEL = "cluster_lgbm"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = namespaces_unavailable() or services_missing() or (None if redis_up() else NO_REDIS)
    if reason is not None:
        pytest.skip(reason)
    homes = tmp_path_factory.mktemp("cluster")
    procs = Processes(homes)
    with bridged_hosts(["api", "worker", "store"]) as net:
        try:
            with running_stack(net, procs, homes) as running:
                yield running
        finally:
            procs.stop_all()


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest, stack: Stack) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack.procs.tails())


@pytest.fixture(scope="module")
def workers(stack: Stack) -> ApiWorkers:
    return ApiWorkers(stack.api, ADMIN, stack.procs.started["api"].pid)


@pytest.fixture(scope="module")
def user(stack: Stack) -> dict[str, Any]:
    """A user registered and logged in through the API host."""
    body = {"username": "cluster_trader", "password": "long-enough-pw"}
    made = httpx.post(f"{stack.api}/auth/register", json=body, timeout=30)
    assert made.status_code == 201, made.text
    login = httpx.post(f"{stack.api}/auth/login", json=body, timeout=30)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    return {"token": token, "headers": {"Authorization": f"Bearer {token}"}}


def _row(stack: Stack, job_id: str) -> Job:
    """The job's row in the app database (the record of truth), read straight from PostgreSQL."""
    engine = create_engine(stack.app_db)
    try:
        with Session(engine) as session:
            job = session.get(Job, job_id)
            assert job is not None, f"no row for job {job_id}"
            session.expunge(job)
            return job
    finally:
        engine.dispose()


def _until(
    stack: Stack, job_id: str, user: dict[str, Any], done: Callable[[Event], bool], timeout: float
) -> Event:
    """``GET /api/v1/jobs/{id}`` until ``done`` holds of its answer."""
    deadline = time.monotonic() + timeout
    while True:
        job: Event = httpx.get(
            f"{stack.api}/api/v1/jobs/{job_id}", headers=user["headers"], timeout=30
        ).json()
        if done(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} after {timeout:.0f} s: {job}"
        time.sleep(0.3)


def _submit(client: httpx.Client, path: str, body: dict[str, Any], user: dict[str, Any]) -> str:
    accepted = client.post(path, json={**body, "async": True}, headers=user["headers"], timeout=30)
    assert accepted.status_code == 202, accepted.text
    job_id: str = accepted.json()["job_id"]
    return job_id


def _gone(pid: int, timeout: float) -> bool:
    try:
        return not psutil.wait_procs([psutil.Process(pid)], timeout=timeout)[1]
    except psutil.NoSuchProcess:
        return True


def test_ingest_train_on_the_worker_host_and_predict_through_the_bento(
    stack: Stack, workers: ApiWorkers, user: dict[str, Any]
) -> None:
    query = {"symbol": "AAPL", "timeframe": "1d", "start": "2023-01-02", "end": "2024-12-31"}
    bars = httpx.get(f"{stack.api}/api/market/data", params=query, headers=user["headers"], timeout=120)
    assert bars.status_code == 200 and len(bars.json()) > 400, bars.text[:500]
    found = stack.s3_client().list_objects_v2(Bucket=stack.bucket, Prefix="lake/market/").get("Contents", [])
    assert any("symbol=AAPL" in o["Key"] for o in found), f"no AAPL bars on the store host's S3: {found}"
    assert not (stack.homes / "api" / "market").exists(), "bars were written to the API host's disk"

    stream = EventStream(workers, workers.other, user["token"])
    try:
        with workers.on(workers.leader) as leader:  # the other worker hears of the job only through Redis
            params = {"n_estimators": 30, "num_leaves": 7}
            body = {"model_type": "lightgbm", "model_name": MODEL, "symbol": "AAPL", "parameters": params}
            body |= {"start_date": query["start"], "end_date": query["end"]}  # the bars ingested above
            job_id = _submit(leader, "/api/v1/models/train", body, user)
        events = stream.wait(job_id, lambda es: any(e["type"] == "task_completed" for e in es), 240)
    finally:
        stream.close()
    types = [e["type"] for e in events]
    assert types[0] == "task_queued" and "task_running" in types and types[-1] == "task_completed", types
    assert types.count("task_completed") == 1 and events[-1]["data"]["status"] == "completed", events[-1]
    row = _row(stack, job_id)
    assert (row.status, row.worker_host) == ("completed", stack.worker.hostname), row.worker_host
    assert row.result is not None and row.result["version"] == "1", row.result
    assert not (stack.homes / "worker" / "market").exists(), "the worker host read bars from its own disk"

    before = bento_batches(stack.bento)
    body = {"model_name": MODEL}
    predicted = httpx.post(
        f"{stack.api}/api/v1/predictions/predict", json=body, headers=user["headers"], timeout=90
    )
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["model_version"] == "1", predicted.text
    assert bento_batches(stack.bento) > before, "the Bento on the worker host ran no model call"
    artifacts = stack.s3_client().list_objects_v2(Bucket=stack.bucket, Prefix="lake/mlflow-artifacts/")
    assert artifacts.get("KeyCount", 0) > 0, "the model's artifacts are not on the store host's S3"


def test_a_revoked_key_fails_on_both_api_workers_at_once(
    stack: Stack, workers: ApiWorkers, user: dict[str, Any]
) -> None:
    made = httpx.post(
        f"{stack.api}/api/v1/auth/keys", json={"name": "bot"}, headers=user["headers"], timeout=30
    )
    assert made.status_code == 201, made.text
    key = {"X-API-Key": made.json()["key"]}
    for pid in (workers.leader, workers.other):  # both workers know the key now (and cache it)
        with workers.on(pid) as client:
            assert client.get("/api/v1/auth/me", headers=key).status_code == 200
    with workers.on(workers.leader) as client:
        revoked = client.delete(f"/api/v1/auth/keys/{made.json()['id']}", headers=user["headers"])
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked", revoked.text
    for pid in (workers.other, workers.leader):
        with workers.on(pid) as client:
            answer = client.get("/api/v1/auth/me", headers=key)
        assert answer.status_code == 401, f"worker {pid} still takes the revoked key: {answer.text}"


def _celery_running(stack: Stack, job_pid: int) -> tuple[str, str]:
    """The job worker whose Celery process runs the job process ``job_pid``, and the other one."""
    ancestors = {p.pid for p in psutil.Process(job_pid).parents()}
    (running,) = [n for n in CELERY if stack.procs.started[n].pid in ancestors]
    (other,) = set(CELERY) - {running}
    return running, other


def test_a_worker_killed_mid_job_fails_it_once_and_loses_nothing(
    stack: Stack, workers: ApiWorkers, user: dict[str, Any]
) -> None:
    api = httpx.Client(base_url=stack.api)
    stream = EventStream(workers, workers.other, user["token"])
    try:
        params = {"n_estimators": 20000, "num_leaves": 63}  # minutes: it is still running when killed
        body = {
            "model_type": "lightgbm",
            "model_name": "cluster_killed",
            "symbol": "AAPL",
            "parameters": params,
        }
        killed = _submit(api, "/api/v1/models/train", body, user)
        deadline = time.monotonic() + 120
        while (row := _row(stack, killed)).status != "running" or row.worker_pid is None:
            assert row.status in ("queued", "running") and time.monotonic() < deadline, (
                row.status,
                row.reason,
            )
            time.sleep(0.1)
        name, survivor = _celery_running(stack, row.worker_pid)
        celery = stack.procs.started[name]
        os.kill(celery.pid, signal.SIGKILL)  # the worker host's Celery process, mid-job
        celery.wait(10)
        assert _gone(row.worker_pid, 15), "the killed worker's job still runs"
        body = {"symbol": "AAPL", "strategy": "sma_cross", "start_date": "2023-03-01"}
        after = _submit(api, "/api/v1/backtest/run", body, user)
        # The killed job's message went back to the broker unacknowledged: the other worker drops it.
        stack.procs.wait_for_line(survivor, f"job {killed} is ", timeout=60)
        dropped = re.search(rf"job {killed} is (running|failed), not queued", stack.procs.log(survivor))
        assert dropped is not None, stack.procs.log(survivor)[-3000:]

        failed = _until(stack, killed, user, lambda j: j["status"] != "running", STALE_SECONDS + 60)
        assert failed["status"] == "failed", failed
        assert "stopped while running this job" in failed["error"], failed["error"]
        assert stack.worker.hostname in failed["error"], failed["error"]
        done = _until(stack, after, user, lambda j: j["status"] not in ("queued", "running"), 180)
        assert done["status"] == "completed", done
        assert f"Task tradeforge.jobs.run[{after}] received" in stack.procs.log(survivor)
        stream.wait(after, lambda es: any(e["type"] == "task_completed" for e in es), 30)
        time.sleep(1.0)  # anything announced twice would be in the stream by now
    finally:
        stream.close()
        api.close()
    again = _row(stack, killed)
    assert (again.status, again.started_at, again.error) == ("failed", row.started_at, failed["error"])
    for job_id in (killed, after):
        kinds = [e["type"] for e in stream.of(job_id)]
        assert kinds.count("task_running") == 1 and kinds.count("task_completed") == 1, (job_id, kinds)
    assert _row(stack, after).worker_host == stack.worker.hostname
    versions = httpx.get(f"{stack.api}/api/v1/models/cluster_killed", headers=user["headers"], timeout=30)
    assert versions.status_code == 404 or not versions.json().get("versions"), versions.text
