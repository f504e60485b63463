"""Job commands: ``tradeforge jobs worker`` runs the API's jobs on this host through the job broker."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli._common import SwitchGroup, app, errors
from pipelines.settings import get_settings

__all__ = ["jobs_app"]

jobs_app = typer.Typer(cls=SwitchGroup, no_args_is_help=True, help="The API's background jobs.")
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("worker")
def jobs_worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at once at most (each in its own process)")] = 1,
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            "-Q",
            help="Broker queues to consume, comma-separated (default: TRADEFORGE_JOB_QUEUE)",
        ),
    ] = None,
) -> None:
    """Run the API's jobs on this host: take them from the job broker (TRADEFORGE_JOB_BROKER_URL), admit
    each when this machine has the CPU and RAM it declares, and write its state, progress and result to
    the app database (TRADEFORGE_DATABASE_URL, shared with the API). Stops on Ctrl-C or SIGTERM once the
    running jobs have finished."""
    # Imported on use, for the CLI's start-up time: Celery.
    from pipelines.jobs.broker import worker_queues

    settings = get_settings()
    with errors():
        names = worker_queues(settings, concurrency, queues or [])
    # Imported on use, for the CLI's start-up time: SQLAlchemy and every job kind's libraries.
    from pipelines.app.job_worker import run_job_worker

    raise typer.Exit(run_job_worker(settings, concurrency=concurrency, queues=names))
