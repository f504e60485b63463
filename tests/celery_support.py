"""Dagster on PostgreSQL with its steps on Celery workers, for tests/assets/test_celery_executor.py and
benchmarks/bench_celery.py: the services' check, a scratch database, worker processes that are always
ended, and partitions materialized through the code location's executor.

Every use takes its own PostgreSQL database and its own Celery queues (``tf-<random>`` and
``tf-<random>-gpu``, deleted at the end), so runs beside each other never take each other's steps.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parents[1]
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
CODE_LOCATION = "assets.definitions"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

__all__ = [
    "BROKER",
    "QUIET",
    "Materialized",
    "celery_env",
    "celery_workers",
    "fresh_code_location",
    "materialize",
    "scratch_pg_database",
    "services_missing",
    "worker_of_each_step",
]


def services_missing() -> str | None:
    """Why the Celery tests cannot run here (RabbitMQ or PostgreSQL not reachable), or None."""
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        return f"RabbitMQ is not reachable at 127.0.0.1:5672 ({exc.__class__.__name__})"
    try:
        psycopg.connect(PG_SERVER, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc.__class__.__name__})"
    return None


@contextmanager
def scratch_pg_database() -> Iterator[str]:
    """A new PostgreSQL database for one Dagster instance; its URL. Dropped on exit."""
    name = f"tradeforge_dagster_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def celery_env(home: Path, pg_url: str, symbols: Sequence[str], history_start: str) -> dict[str, str]:
    """The settings of a home whose Dagster instance is ``pg_url`` and whose steps run on Celery, on
    queues of its own: a synthetic daily universe of ``symbols`` from ``history_start``."""
    queue = f"tf-{uuid.uuid4().hex[:10]}"
    universe = ",".join(f'{{"symbol": "{s}", "timeframes": ["1d"]}}' for s in symbols)
    return {
        "TRADEFORGE_HOME": str(home),
        "TRADEFORGE_HISTORY_START": history_start,
        "TRADEFORGE_UNIVERSE": f"[{universe}]",
        "TRADEFORGE_AUTOMATIONS_RUNNING": "false",
        "TRADEFORGE_DAGSTER_INSTANCE": "postgres",
        "TRADEFORGE_DAGSTER_PG_URL": pg_url,
        "TRADEFORGE_DAGSTER_EXECUTOR": "celery",
        "TRADEFORGE_DAGSTER_CELERY_BROKER_URL": BROKER,
        "TRADEFORGE_DAGSTER_CELERY_QUEUE": queue,
        "TRADEFORGE_DAGSTER_GPU_QUEUE": f"{queue}-gpu",
    }


def _delete_queues(names: Sequence[str]) -> None:
    from kombu import Connection  # Celery's messaging library

    with Connection(BROKER, connect_timeout=5) as conn:
        channel = conn.channel()
        for name in names:
            with suppress(Exception):
                channel.queue_delete(name)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the worker's process group (the worker and its pool), warm first, then by force."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def celery_workers(env: Mapping[str, str], names: Sequence[str], logs: Path) -> Iterator[list[Path]]:
    """``tradeforge dagster worker`` processes named ``names`` (``one`` runs as ``one-<queue>@host``), one
    step at a time each, on the default queue of ``env``; yields their log files once every one is
    ready. They are ended on exit, the run passed or not, and the queues of ``env`` deleted."""
    queue = env["TRADEFORGE_DAGSTER_CELERY_QUEUE"]
    exe = str(Path(sys.executable).with_name("tradeforge"))
    full = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    started: list[subprocess.Popen[bytes]] = []
    files = [logs / f"{name}.log" for name in names]
    try:
        for name, path in zip(names, files, strict=True):
            with path.open("wb") as out:
                command = [exe, "dagster", "worker", "--name", f"{name}-{queue}", "--concurrency", "1"]
                started.append(
                    subprocess.Popen(
                        command, env=full, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        deadline = time.monotonic() + 180
        while not all(" ready." in p.read_text() for p in files):
            ended = zip(files, started, strict=True)
            dead = [f.read_text()[-3000:] for f, w in ended if w.poll() is not None]
            assert not dead, f"a worker exited: {dead}"
            assert time.monotonic() < deadline, "workers not ready in 180 s"
            time.sleep(0.25)
        yield files
    finally:
        for process in started:
            _stop(process)
        _delete_queues([queue, env["TRADEFORGE_DAGSTER_GPU_QUEUE"]])


@contextmanager
def fresh_code_location() -> Iterator[None]:
    """The code location imported anew from the environment set now, the earlier import put back on
    exit (``assets.definitions`` builds its definitions from the settings when imported)."""
    before = sys.modules.pop(CODE_LOCATION, None)
    try:
        yield
    finally:
        sys.modules.pop(CODE_LOCATION, None)
        if before is not None:
            sys.modules[CODE_LOCATION] = before


@dataclass(frozen=True)
class Materialized:
    partition: str
    run_id: str
    success: bool
    seconds: float


# The job and the instance of one run process (set when the pool forks it; see ``materialize``).
_RUNNER: dict[str, Any] = {}


def _open_instance() -> None:
    import dagster as dg

    _RUNNER["instance"] = dg.DagsterInstance.get()


def _run(key: str) -> Materialized:
    import dagster as dg

    job, partitions_def = _RUNNER["job"], _RUNNER["partitions_def"]
    began = time.perf_counter()
    tags = partitions_def.get_tags_for_partition_key(key)
    result = dg.execute_job(job, _RUNNER["instance"], run_config=QUIET, tags=tags)
    return Materialized(key, result.run_id, result.success, time.perf_counter() - began)


def materialize(job_name: str, partitions: Sequence[str] | None, *, processes: int) -> list[Materialized]:
    """One run of the code location's ``job_name`` per partition (every partition when None), on the
    instance of ``DAGSTER_HOME`` with the job's own executor, ``processes`` runs at once.

    The runs' coordinators are processes forked from this one once the code location is loaded:
    Dagster's run set-up reconfigures logging and cannot share a process between threads."""
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    with dg.DagsterInstance.get():  # creates the instance's tables here, not in racing run processes
        pass
    repository = ReconstructableRepository.for_module(CODE_LOCATION, "defs", working_directory=str(REPO))
    job = repository.get_reconstructable_job(job_name)
    partitions_def = job.get_definition().partitions_def
    assert partitions_def is not None
    keys = list(partitions) if partitions is not None else list(partitions_def.get_partition_keys())
    _RUNNER.update(job=job, partitions_def=partitions_def)
    fork = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(processes, mp_context=fork, initializer=_open_instance) as pool:
            return list(pool.map(_run, keys))
    finally:
        _RUNNER.clear()


def worker_of_each_step(instance: Any, run_ids: Sequence[str]) -> dict[str, str]:
    """The Celery worker that executed each run's step, by run id, from the runs' engine events."""
    found: dict[str, str] = {}
    for run_id in run_ids:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or not event.is_engine_event:
                continue
            metadata = event.engine_event_data.metadata
            if "Celery worker" in metadata:
                found[run_id] = str(metadata["Celery worker"].value)
    return found
