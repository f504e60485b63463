"""A Celery job worker (``tradeforge jobs worker``): runs the API's jobs on this host when the API hands
them to a broker (``TRADEFORGE_JOB_BROKER_URL``), writing their state, progress and results to the
app database the API reads."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipelines.app.jobs import default_tasks
from pipelines.db.engine import open_database
from pipelines.errors import InvalidRequestError
from pipelines.jobs.broker import run_worker
from pipelines.jobs.resources import ResourceProbe
from pipelines.jobs.runner import JobRunner
from pipelines.jobs.task_kinds import TaskKinds
from pipelines.settings import Settings

__all__ = ["check_worker_options", "run_job_worker"]

_QUEUE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def check_worker_options(settings: Settings, concurrency: int, queues: Sequence[str]) -> list[str]:
    """The queues to consume (the configured one when none is named); InvalidRequestError when the
    broker is not configured, the concurrency is below 1 or a queue name is not a plain name."""
    if not settings.jobs.job_broker_url:
        raise InvalidRequestError(
            "TRADEFORGE_JOB_BROKER_URL is not set: without a broker the API runs its jobs in its own "
            "worker processes (set it on the API and on this worker, e.g. amqp://user:pass@host:5672//)"
        )
    if not 1 <= concurrency <= 256:
        raise InvalidRequestError(f"--concurrency must be from 1 to 256, got {concurrency}")
    names = [q.strip() for given in queues for q in given.split(",") if q.strip()]
    for name in names:
        if not _QUEUE.match(name):
            raise InvalidRequestError(
                f"queue name {name!r} must be 1-200 letters, digits, '_', '.', ':', '-'"
            )
    return names or [settings.jobs.job_queue]


def run_job_worker(
    settings: Settings,
    *,
    concurrency: int = 1,
    queues: Sequence[str] = (),
    tasks: TaskKinds | None = None,
    probe: ResourceProbe | None = None,
    retry_seconds: float = 5.0,
) -> int:
    """Run jobs from the broker until stopped (SIGTERM: after the running jobs finish; a second
    signal stops at once, and the API fails those jobs when their heartbeat goes stale); returns the
    worker's exit status. ``tasks``: the job kinds it runs (the server's); ``probe``: this machine;
    ``retry_seconds``: how soon a job that did not fit is tried again."""
    names = check_worker_options(settings, concurrency, queues)
    settings.home.mkdir(parents=True, exist_ok=True)
    database = open_database(settings)
    try:
        runner = JobRunner(
            settings, database, tasks or default_tasks(), probe=probe, retry_seconds=retry_seconds
        )
        return run_worker(settings, runner, concurrency=concurrency, queues=names)
    finally:
        database.close()
