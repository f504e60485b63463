"""A task for the recovery tests (importable by spawned workers as tests.recovery.tasks)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipelines.jobs import ProgressReporter
from pipelines.models.tracking import MlflowTracker


def hold_a_run(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """Open an MLflow run, report its id, and wait inside it until the worker is stopped."""
    tracker = MlflowTracker(str(params["uri"]), Path(params["artifacts"]))
    with tracker.run("held", "held-run", {}) as run:
        progress.update(10.0, run.run_id)
        time.sleep(120)
    return {}
