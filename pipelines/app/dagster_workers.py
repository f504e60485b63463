"""Dagster's steps on Celery workers: how the code location's executor reaches the broker, and the
command a machine runs to take steps from a queue (``tradeforge dagster worker``).

With ``TRADEFORGE_DAGSTER_EXECUTOR=celery`` every step of a run is queued on the broker, on the GPU
queue for the ``gpu`` pool's steps (training) and on the default queue for the others; a worker
consumes the queues it is started on, so only GPU machines are started on the GPU queue. A worker
runs each step in its own process against the shared instance (``TRADEFORGE_DAGSTER_INSTANCE=postgres``
across machines) and the home's stores.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.errors import InvalidRequestError
from pipelines.runtime import REPO_ROOT, dagster_env
from pipelines.settings import Settings

__all__ = [
    "BACKEND_ENV",
    "BROKER_ENV",
    "WORKER_APP",
    "WorkerLaunch",
    "celery_executor_config",
    "worker_launch",
]

BROKER_ENV = "TRADEFORGE_DAGSTER_CELERY_BROKER_URL"
BACKEND_ENV = "TRADEFORGE_DAGSTER_CELERY_BACKEND_URL"
# The Celery app of the workers: dagster-celery's step task on a broker and backend from the settings.
WORKER_APP = "assets.celery_worker"


def celery_executor_config(settings: Settings, environ: Mapping[str, str]) -> dict[str, Any]:
    """The config of dagster-celery's ``celery_executor``: the broker and the backend, read from their
    variables in the run's process when that is where the settings took them (so a password in them
    is not written into the definitions Dagster shows), and the queue of the steps not tagged for
    another one."""
    group = settings.dagster

    def source(env: str, value: str) -> str | dict[str, str]:
        return {"env": env} if environ.get(env) == value else value

    return {
        "broker": source(BROKER_ENV, group.dagster_celery_broker_url),
        "backend": source(BACKEND_ENV, group.dagster_celery_backend_url),
        "config_source": {"task_default_queue": group.dagster_celery_queue},
    }


@dataclass(frozen=True)
class WorkerLaunch:
    """A Celery worker's command line, environment and working directory (the instance folder)."""

    args: list[str]
    env: dict[str, str]
    cwd: Path
    queues: list[str]


def _queues(settings: Settings, asked: Sequence[str]) -> list[str]:
    group = settings.dagster
    known = {
        group.dagster_celery_queue: "TRADEFORGE_DAGSTER_CELERY_QUEUE",
        group.dagster_gpu_queue: "TRADEFORGE_DAGSTER_GPU_QUEUE",
    }
    if not asked:
        return [group.dagster_celery_queue]
    for queue in asked:
        if queue not in known:
            choices = ", ".join(f"{name} ({env})" for name, env in known.items())
            raise InvalidRequestError(f"unknown queue {queue!r}: the steps are queued on {choices}")
    return list(dict.fromkeys(asked))


def worker_launch(
    settings: Settings,
    *,
    queues: Sequence[str] = (),
    name: str | None = None,
    concurrency: int | None = None,
    bindir: Path,
    environ: Mapping[str, str],
) -> WorkerLaunch:
    """The worker that takes steps from ``queues`` (default: the default queue; the GPU queue is asked
    for by name on GPU machines), named ``name`` (default: a unique ``tradeforge-...``) on this host,
    running ``concurrency`` steps at once (default: one per CPU). A step is acknowledged when a worker
    takes it, so a redelivery never runs it twice, and a worker reserves at most one step per process
    beyond those it runs, leaving the rest of the queue to the other workers."""
    chosen = _queues(settings, queues)
    if concurrency is not None and concurrency < 1:
        raise InvalidRequestError("--concurrency must be at least 1")
    env = {**environ, **dagster_env(settings)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), environ.get("PYTHONPATH")) if p)
    node = name or f"tradeforge-{uuid.uuid4().hex[:8]}"
    exe = shutil.which("celery", path=str(bindir)) or "celery"
    args = [exe, "-A", WORKER_APP, "worker", "-Q", ",".join(chosen), "-n", f"{node}@%h"]
    args += ["--prefetch-multiplier=1", "--loglevel=INFO"]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    return WorkerLaunch(args=args, env=env, cwd=Path(env["DAGSTER_HOME"]), queues=chosen)
