"""The whole stack on three hosts (see tests/cluster/test_cluster.py): the store host's relay and moto
server, scratch stores, then the API, two job workers and the Bento, each started in its namespace.

Every store is fresh for the run and removed at its end: two PostgreSQL databases (the app's, MLflow's
backend), an empty Redis database number (taken with a marker key, flushed at the end), a Celery queue
of its own (deleted), a moto bucket (gone with the server) and one home folder per host.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine

from pipelines.app.accounts import register_user
from pipelines.db import open_database
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings
from tests.celery_support import BROKER
from tests.cluster.network import Host, Network, Processes
from tests.db.support import PG_SERVER, scratch_database
from tests.net_support import wait_http
from tests.serving_support import PASSWORD, SECRET

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
API_PORT, BENTO_PORT, S3_PORT = 8000, 3000, 5000
STORE_PORTS = (5432, 6379, 5672)  # PostgreSQL, Redis, RabbitMQ: relayed by the store host
REDIS_DBS = range(8, 16)  # the other tests use 1 + their xdist worker's number
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
ADMIN = "cluster_admin"
HEARTBEAT_SECONDS, STALE_SECONDS = 1.0, 10.0
CELERY = ("celery-a", "celery-b")  # the worker host's job workers, by their log's name

__all__ = ["ADMIN", "CELERY", "STALE_SECONDS", "Stack", "running_stack"]


@dataclass
class Stack:
    """The running hosts: URLs as the test process reaches them, the stores, the processes."""

    net: Network
    procs: Processes
    homes: Path
    api: str
    bento: str
    s3: str
    bucket: str
    queue: str
    app_db: str  # the app database as this process reaches it (127.0.0.1)
    worker_env: dict[str, str]

    @property
    def worker(self) -> Host:
        return self.net.hosts["worker"]

    def start_celery(self) -> None:
        """The worker host's two ``tradeforge jobs worker`` processes (one job at a time each), consuming
        once this returns."""
        argv = [str(BIN / "tradeforge"), "jobs", "worker", "--concurrency", "1"]
        for name in CELERY:
            self.procs.start(name, self.worker.command(argv), self.worker_env, REPO)
        for name in CELERY:
            self.procs.wait_for_line(name, " ready.", timeout=240)

    def s3_client(self) -> Any:
        return _s3_client(self.s3)


def _s3_client(endpoint: str) -> Any:
    import boto3

    keys = {
        "aws_access_key_id": AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS["AWS_SECRET_ACCESS_KEY"],
    }
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)


def _clean_environ() -> dict[str, str]:
    """This process's environment without any setting of its own stack (a Makefile's home, ...)."""
    prefixes = ("TRADEFORGE_", "MLFLOW_", "AWS_", "DAGSTER_", "PYTEST_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and "proxy" not in k.lower()}


@contextlib.contextmanager
def _redis_db(url: str) -> Iterator[int]:
    """An empty Redis database number, marked as this run's until it is flushed on exit."""
    marker = "tradeforge-cluster-test"
    for db in REDIS_DBS:
        client = redis.Redis.from_url(f"{url}/{db}")
        if client.dbsize() == 0 and client.set(marker, os.getpid(), nx=True) and client.dbsize() == 1:
            try:
                yield db
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError(f"no empty Redis database among {list(REDIS_DBS)}")


def _prepare_stores(app_db: str, mlflow_db: str, home: Path) -> None:
    """Both schemas made here before four processes open them at once (one after the other: Alembic's
    migration context is process-global), and an admin."""
    MlflowTracker(mlflow_db).client.search_registered_models(max_results=1)
    database = open_database(Settings(home=home, database_url=app_db))
    try:
        with database.transaction() as session:
            register_user(session, ADMIN, PASSWORD, role="admin", tier="enterprise")
    finally:
        database.close()


def _host_env(homes: Path, host: str, stores: dict[str, str]) -> dict[str, str]:
    return {
        **_clean_environ(),
        **AWS,
        **stores,
        "PYTHONPATH": str(REPO),
        "TRADEFORGE_HOME": str(homes / host),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_HISTORY_START": "2023-01-01",
        "TRADEFORGE_DEFAULT_TIER": "pro",
        "TRADEFORGE_AUTOMATIONS_RUNNING": "false",
        "TRADEFORGE_JOB_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "TRADEFORGE_JOB_STALE_SECONDS": str(STALE_SECONDS),
        "TRADEFORGE_INFERENCE_ALIAS_SECONDS": "0.5",
    }


def _start_store(net: Network, procs: Processes) -> str:
    store = net.hosts["store"]
    relay = [sys.executable, "-m", "tests.cluster.relay", store.netns, store.address, *map(str, STORE_PORTS)]
    procs.start("relay", relay, _clean_environ(), REPO)
    moto = [str(BIN / "moto_server"), "-H", store.address, "-p", str(S3_PORT)]
    procs.start("moto", store.command(moto), {**_clean_environ(), **AWS}, REPO)
    procs.wait_for_line("relay", "ready", timeout=30)
    return f"http://{store.address}:{S3_PORT}"


def _start_services(net: Network, procs: Processes, homes: Path, stores: dict[str, str]) -> tuple[str, str]:
    api, worker = net.hosts["api"], net.hosts["worker"]
    bento_url = f"http://{worker.address}:{BENTO_PORT}"
    serve = [str(BIN / "tradeforge"), "serve", "--host", "0.0.0.0", "--port", str(API_PORT), "--workers", "2"]
    api_env = {**_host_env(homes, "api", stores), "TRADEFORGE_INFERENCE_URL": bento_url}
    procs.start("api", api.command([*serve, "--log-level", "warning"]), api_env, REPO)
    bento = [str(BIN / "bentoml"), "serve", "serving.bento.service:TradeforgeInference"]
    bento += ["--host", "0.0.0.0", "--port", str(BENTO_PORT)]
    procs.start("bento", worker.command(bento), _host_env(homes, "worker", stores), REPO)
    return f"http://{api.address}:{API_PORT}", bento_url


def _wait_ready(procs: Processes, api: str, bento: str) -> None:
    deadline = time.monotonic() + 180
    for url, name in ((f"{api}/health", "api"), (f"{bento}/readyz", "bento")):
        while wait_http(url, procs.started[name], timeout=180).status_code != 200:
            assert time.monotonic() < deadline, f"{name} not ready in 180 s:\n{procs.log(name)[-3000:]}"
            time.sleep(0.3)


@contextlib.contextmanager
def running_stack(net: Network, procs: Processes, homes: Path) -> Iterator[Stack]:
    """The stores made, the services started on ``net`` and ready; on exit every process ended, then
    the stores removed."""
    store = net.hosts["store"].address
    began = time.monotonic()
    phase = lambda what: print(f"cluster: {what} after {time.monotonic() - began:.1f} s", flush=True)  # noqa: E731
    s3 = _start_store(net, procs)
    server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    queue = f"tf-cluster-{uuid.uuid4().hex[:12]}"
    try:
        with (
            scratch_database(server) as app_db,
            scratch_database(server) as mlflow_db,
            _redis_db("redis://127.0.0.1:6379") as redis_db,
        ):
            _prepare_stores(app_db, mlflow_db, homes / "driver")
            phase("schemas made")
            bucket = f"tf-{uuid.uuid4().hex[:12]}"
            over_store = lambda url: url.replace("@127.0.0.1:", f"@{store}:")  # noqa: E731
            stores = {
                "TRADEFORGE_DATABASE_URL": over_store(app_db),
                "MLFLOW_TRACKING_URI": over_store(mlflow_db),
                "TRADEFORGE_REDIS_URL": f"redis://{store}:6379/{redis_db}",
                "TRADEFORGE_JOB_BROKER_URL": BROKER.replace("@127.0.0.1:", f"@{store}:"),
                "TRADEFORGE_JOB_QUEUE": queue,
                "TRADEFORGE_DATA_URL": f"s3://{bucket}/lake",
                "TRADEFORGE_S3_ENDPOINT_URL": s3,
            }
            wait_http(s3, procs.started["moto"], timeout=60)
            _s3_client(s3).create_bucket(Bucket=bucket)
            api, bento = _start_services(net, procs, homes, stores)
            worker_env = _host_env(homes, "worker", stores)
            stack = Stack(net, procs, homes, api, bento, s3, bucket, queue, app_db, worker_env)
            try:
                stack.start_celery()
                phase("job workers ready")
                _wait_ready(procs, api, bento)
                phase("API and Bento ready")
                yield stack
            finally:  # before their stores go
                procs.stop_all()
    finally:
        server.dispose()
        _delete_queue(queue)


def _delete_queue(name: str) -> None:
    from kombu import Connection  # Celery's messaging library

    with contextlib.suppress(Exception), Connection(BROKER, connect_timeout=5) as conn:
        conn.channel().queue_delete(name)
