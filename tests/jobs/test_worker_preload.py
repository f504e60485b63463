"""A job worker starts from the fork server with what every model-saving job needs already built."""

from __future__ import annotations

import time

from pipelines.jobs.resources import Demand
from pipelines.jobs.workers import WorkerRun, worker_context
from pipelines.settings import Settings
from tests.jobs.sample_tasks import mlflow_map_built


def test_a_job_worker_starts_with_mlflows_package_map_built(settings: Settings) -> None:
    worker = WorkerRun.start(
        worker_context([mlflow_map_built.__module__]),
        mlflow_map_built,
        {},
        settings,
        job_id="job-preload",
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
    assert worker.outcome == ("done", {"built": True})
