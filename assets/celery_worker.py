"""The Celery app of the workers that run Dagster's steps (``tradeforge dagster worker``, which starts
``celery -A assets.celery_worker worker`` with the instance's environment).

It is dagster-celery's app and step task on the broker and backend of the settings the worker starts
with; a step loads this repository's code location (``assets.definitions``) and the shared instance,
as the run that queued it does. The code location is imported here, before the worker forks its pool,
so each pool process starts with it loaded instead of importing it on its first step.
"""

from __future__ import annotations

from typing import Any

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

import assets.definitions  # noqa: F401  (loaded once, before the pool forks)
from pipelines.settings import Settings, get_settings

__all__ = ["app", "build_app"]


def build_app(settings: Settings) -> Any:
    """The worker's Celery app, with the step task registered (dagster-celery's functions are untyped)."""
    group = settings.dagster
    executor = CeleryExecutor.for_cli(  # type: ignore[no-untyped-call]
        broker=group.dagster_celery_broker_url,
        backend=group.dagster_celery_backend_url,
        config_source={"task_default_queue": group.dagster_celery_queue},
    )
    celery_app = make_app(executor.app_args())  # type: ignore[no-untyped-call]
    create_task(celery_app)  # type: ignore[no-untyped-call]
    return celery_app


app = build_app(get_settings())
