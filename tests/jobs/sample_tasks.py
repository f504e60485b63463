"""Task kinds for the queue's tests only (importable by job workers as tests.jobs.sample_tasks)."""

from __future__ import annotations

import os
import time
from typing import Any

from pipelines.errors import InvalidRequestError
from pipelines.jobs import ProgressReporter, TaskKinds, register_task
from pipelines.settings import Settings

__all__ = ["FakeProbe", "sample_tasks"]


class FakeProbe:
    """A machine of fixed size whose free RAM the test sets (a test double of the host)."""

    def __init__(self, cores: float = 8.0, total_gb: float = 16.0, available_gb: float = 16.0) -> None:
        self.cores, self.total_gb, self.available_gb = cores, total_gb, available_gb

    def total_cores(self) -> float:
        return self.cores

    def total_ram_gb(self) -> float:
        return self.total_gb

    def available_ram_gb(self) -> float:
        return self.available_gb


def _validate_echo(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    steps = params.get("steps", 3)
    if not isinstance(steps, int) or not 0 <= steps <= 100:
        raise InvalidRequestError(f"steps must be an integer from 0 to 100, got {steps!r}")
    return {**params, "steps": steps}


@register_task("echo", cpu_cores=1.0, ram_gb=1.0, validate=_validate_echo, describe=lambda p: "Echoing...")
def echo(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    # ``pause``: seconds before each step, so a test can see every step's update on its own (the
    # scheduler publishes the latest of the updates that arrived since it last read the pipe).
    pause = float(params.get("pause", 0.0))
    for i in range(1, params["steps"] + 1):
        time.sleep(pause)
        progress.update(100.0 * i / (params["steps"] + 1), f"step {i}", {"step": i, "of": params["steps"]})
        time.sleep(0.01)
    return {"echo": params.get("value"), "pid": os.getpid(), "home": str(progress.settings.home)}


@register_task("sleep", cpu_cores=1.0, ram_gb=1.0)
def sleep(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    progress.update(1.0, f"sleeping in {os.getpid()}")
    time.sleep(float(params.get("seconds", 30)))
    return {"slept": params.get("seconds", 30)}


@register_task("big", cpu_cores=4.0, ram_gb=12.0)
def big(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    return {"big": True}


@register_task("fail", cpu_cores=1.0, ram_gb=0.5)
def fail(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    progress.update(50.0, "about to fail")
    raise RuntimeError(f"boom: {params.get('why', 'no reason')}")


@register_task("crash", cpu_cores=1.0, ram_gb=0.5)
def crash(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    os._exit(7)


@register_task("huge", cpu_cores=64.0, ram_gb=1.0)
def huge(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    return {}


@register_task("sized", cpu_cores=1.0, ram_gb=1.0, estimate_ram=lambda p: float(p.get("gb", 0)))
def sized(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """Declares the RAM its parameters name (at least 1 GB)."""
    return {}


@register_task("hog", cpu_cores=1.0, ram_gb=0.25)
def hog(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """Declares 0.25 GB, then touches 100 MB more every 50 ms up to ``gb`` GB."""
    held = []
    for _ in range(int(float(params.get("gb", 3)) * 10)):
        held.append(b"x" * 100_000_000)  # written, so resident (a calloc'd buffer would not be)
        time.sleep(0.05)
    return {"held_gb": len(held) / 10}


def sample_tasks() -> TaskKinds:
    return TaskKinds([echo, sleep, big, fail, crash, huge, sized, hog])


def mlflow_map_built(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """Whether the worker started with MLflow's package map already built (imported here, not
    built: the task only looks)."""
    from mlflow.utils import requirements_utils

    return {"built": requirements_utils._MODULES_TO_PACKAGES is not None}


def mlflow_store_loaded(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """Whether the worker started with MLflow's SQL tracking store module imported."""
    import sys

    return {"loaded": "mlflow.store.tracking.sqlalchemy_store" in sys.modules}
