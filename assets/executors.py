"""The executor of the code location's jobs: Dagster's default (each run executes its own steps), or
dagster-celery's ``celery_executor`` (every step queued on the broker for the Celery workers) when
``TRADEFORGE_DAGSTER_EXECUTOR=celery``. The ``gpu`` pool's steps carry the GPU queue's tag
(:data:`CELERY_QUEUE_TAG`), which only the default executor ignores."""

from __future__ import annotations

import os

import dagster as dg
from dagster_celery import celery_executor

from pipelines.app.dagster_workers import celery_executor_config
from pipelines.settings import Settings

__all__ = ["CELERY_QUEUE_TAG", "gpu_queue_tags", "step_executor"]

CELERY_QUEUE_TAG = "dagster-celery/queue"


def gpu_queue_tags(settings: Settings) -> dict[str, str]:
    """The op tags sending a step of the ``gpu`` pool to the GPU workers' queue."""
    return {CELERY_QUEUE_TAG: settings.dagster.dagster_gpu_queue}


def step_executor(settings: Settings) -> dg.ExecutorDefinition | None:
    """The Celery executor the settings ask for, or None for Dagster's default."""
    if settings.dagster.dagster_executor != "celery":
        return None
    executor: dg.ExecutorDefinition = celery_executor.configured(
        celery_executor_config(settings, os.environ), name="celery"
    )
    return executor
