"""A job worker starts from the fork server with what every model-saving job needs already built."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from pipelines.jobs.resources import Demand
from pipelines.jobs.workers import WorkerRun, worker_context
from pipelines.settings import Settings
from tests.jobs.sample_tasks import mlflow_map_built, mlflow_store_loaded


@pytest.mark.parametrize(
    ("task", "expected"),
    [(mlflow_map_built, {"built": True}), (mlflow_store_loaded, {"loaded": True})],
    ids=["the package map", "the SQL tracking store"],
)
def test_a_job_worker_starts_with_what_a_model_save_needs(
    settings: Settings, task: Callable[..., dict[str, Any]], expected: dict[str, Any]
) -> None:
    worker = WorkerRun.start(
        worker_context([task.__module__]),
        task,
        {},
        settings,
        job_id=f"job-{task.__name__}",
        kind="echo",
        user_id=None,
        demand=Demand(1.0, 1.0),
        description="",
    )
    deadline = time.monotonic() + 120
    while worker.outcome is None and time.monotonic() < deadline:
        worker.read()
        time.sleep(0.05)
    worker.process.join(30)
    assert worker.outcome == ("done", expected)
