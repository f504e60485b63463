"""What the dataset routes (/datasets) need: the dataset catalogue, which opens its own unit of work
for each operation (upload, list, read, delete)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.datasets import DatasetCatalog
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["DATASETS", "DatasetsDep"]

DatasetsDep = NamedDependency[DatasetCatalog]


def _provide(state: State) -> DatasetCatalog:
    provider: DatasetCatalog = state.container.datasets
    return provider


def _principal(datasets: DatasetsDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


DATASETS = provides("datasets", _provide, _principal)
"""The dependencies of the dataset controller: ``datasets: DatasetsDep`` and ``principal``."""
