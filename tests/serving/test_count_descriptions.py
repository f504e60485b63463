"""Counts that look alike in the API answers say in the schema what each counts."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from pipelines.settings import Settings
from serving.app import create_app


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(home=tmp_path_factory.mktemp("counts") / "home"))
    with TestClient(app) as client:
        spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec["components"]["schemas"]


def _description(schemas: dict[str, Any], shape: str, field: str) -> str:
    description: str = schemas[shape]["properties"][field]["description"]
    return description


def test_health_model_counts_name_what_they_count(schemas: dict[str, Any]) -> None:
    loaded = _description(schemas, "Health", "models_loaded")
    active = _description(schemas, "HealthMetrics", "active_models")
    assert "in memory" in loaded and "active_models" in loaded
    assert "champion" in active and "models_loaded" in active


def test_prediction_bar_counts_name_what_they_count(schemas: dict[str, Any]) -> None:
    top = _description(schemas, "SignalPredicted", "data_points")
    lookback = _description(schemas, "SignalMetadata", "data_points")
    assert "bars_available" in top and _description(schemas, "SignalMetadata", "bars_available") == top
    assert "days_lookback" in lookback and "bars_available" in lookback
    assert _description(schemas, "PredictMetadata", "data_points") == top
