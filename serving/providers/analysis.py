"""What the analysis routes (/api/v1/backtest, /api/strategies, /api/v1/market) need: settings,
the tracker, datasets as bar sources, job submission, and the unit of work that records a
synchronous answer's kept files as a completed job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.datasets import DatasetCatalog
from pipelines.app.full_curves import run_keeping_files
from pipelines.db import Database
from pipelines.jobs import JobQueue
from pipelines.models.registry import ModelRegistry
from pipelines.settings import Settings
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["ANALYSIS", "AnalysisDep", "AnalysisProvider"]


class AnalysisProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        registry: ModelRegistry,
        jobs: JobQueue,
        datasets: DatasetCatalog,
    ) -> None:
        self.settings = settings
        self.tracker = registry.tracker
        self.jobs = jobs
        self.datasets = datasets
        self._database = database

    def run_keeping_files(
        self, kind: str, params: dict[str, Any], owner: str, run: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        """``run(result_id)`` now; an answer that kept files is recorded as ``owner``'s completed job."""
        return run_keeping_files(self._database, kind, params, owner, run)


AnalysisDep = NamedDependency[AnalysisProvider]


def _provide(state: State) -> AnalysisProvider:
    provider: AnalysisProvider = state.container.analysis_provider
    return provider


def _principal(analysis: AnalysisDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


ANALYSIS = provides("analysis", _provide, _principal)
"""The dependencies of the analysis controllers: ``analysis: AnalysisDep`` and ``principal``."""
