"""A Celery job worker (``tradeforge jobs worker``): runs the API's jobs on this host when the API hands
them to a broker (``TRADEFORGE_JOB_BROKER_URL``), writing their state, progress and results to the
app database the API reads."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.app.jobs import default_tasks
from pipelines.db.engine import open_database
from pipelines.jobs.broker import run_worker, worker_queues
from pipelines.jobs.resources import ResourceProbe
from pipelines.jobs.runner import JobRunner
from pipelines.jobs.task_kinds import TaskKinds
from pipelines.settings import Settings

__all__ = ["run_job_worker"]


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
    names = worker_queues(settings, concurrency, queues)
    settings.home.mkdir(parents=True, exist_ok=True)
    database = open_database(settings)
    try:
        runner = JobRunner(
            settings, database, tasks or default_tasks(), probe=probe, retry_seconds=retry_seconds
        )
        runner.warm_up()  # before taking jobs
        return run_worker(settings, runner, concurrency=concurrency, queues=names)
    finally:
        database.close()
