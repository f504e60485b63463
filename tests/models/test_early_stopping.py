"""Early stopping watches a slice of its own, embargoed from the fitted rows and from validation."""

from __future__ import annotations

from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost

from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.app.train import plan_training, train_model
from pipelines.errors import InvalidRequestError
from pipelines.features import compute_features, get_feature_set
from pipelines.models.tracking import MlflowTracker
from pipelines.models.training_matrix import (
    EARLY_STOP_FRACTION,
    build_training_data,
    make_training_data,
    time_split,
)
from pipelines.settings import Settings

HORIZON = 3


def test_time_split_with_an_early_stopping_slice() -> None:
    split = time_split(200, 0.2, 5, early_stop=0.15)
    # 40 validation rows, 5 embargo, 155 training rows: 23 of them stop early, 5 more embargo
    assert (split.train, split.stop, split.val) == (range(0, 127), range(132, 155), range(160, 200))
    assert time_split(200, 0.2, 5).stop == range(0)
    with pytest.raises(InvalidRequestError, match="too few rows to train with early stopping"):
        time_split(40, 0.2, 5, early_stop=0.15)


@pytest.mark.parametrize(
    ("kind", "params", "stops"),
    [
        ("lightgbm", {}, True),
        ("xgboost", {}, True),
        ("lstm", {}, True),
        ("lightgbm", {"early_stopping_rounds": 0}, False),
        ("simple", {}, False),
    ],
)
def test_which_kinds_get_a_slice(kind: str, params: dict[str, Any], stops: bool, settings: Settings) -> None:
    window = DataRequest(
        "synthetic", "AAPL", "1d", pd.Timestamp("2021-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="UTC")
    )
    bars = ensure_bars_table(settings, window).bars()
    features = compute_features(bars, "default")
    names = list(get_feature_set("default").columns)
    data = build_training_data(bars, features, names, kind=kind, horizon=HORIZON, params=params)
    assert (data.x_stop is not None) is stops
    n_part = data.train_rows + (data.early_stopping_rows + data.embargo if stops else 0)
    assert data.early_stopping_rows == (round(n_part * EARLY_STOP_FRACTION) if stops else 0)


def _row_positions(x_all: np.ndarray, rows: Any) -> np.ndarray:
    """Where each row of ``rows`` sits in ``x_all`` (every row of a feature matrix is distinct)."""
    index = {row.tobytes(): i for i, row in enumerate(x_all)}
    return np.array([index[np.ascontiguousarray(r, dtype=np.float64).tobytes()] for r in np.asarray(rows)])


def _spy_lightgbm(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any]) -> None:
    real = lightgbm.train

    def spy(params: dict[str, Any], train_set: Any, *args: Any, **kwargs: Any) -> Any:
        seen["fit"] = np.array(train_set.data)
        seen["stop"] = [np.array(v.data) for v in kwargs.get("valid_sets") or []]
        return real(params, train_set, *args, **kwargs)

    monkeypatch.setattr(lightgbm, "train", spy)


def _spy_xgboost(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any]) -> None:
    real = xgboost.XGBRegressor.fit

    def spy(self: Any, x: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
        seen["fit"] = np.array(x)
        seen["stop"] = [np.array(vx) for vx, _ in kwargs.get("eval_set") or []]
        return real(self, x, y, *args, **kwargs)

    monkeypatch.setattr(xgboost.XGBRegressor, "fit", spy)


@pytest.mark.parametrize(
    ("kind", "params", "spy"),
    [
        ("lightgbm", {"n_estimators": 60, "num_leaves": 7, "early_stopping_rounds": 5}, _spy_lightgbm),
        ("xgboost", {"n_estimators": 60, "max_depth": 3, "early_stopping_rounds": 5}, _spy_xgboost),
    ],
)
def test_boosted_models_never_stop_on_validation_rows(
    kind: str,
    params: dict[str, Any],
    spy: Any,
    settings: Settings,
    tracker: MlflowTracker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}
    spy(monkeypatch, seen)
    request = plan_training(
        settings,
        model_type=kind,
        model_name=f"{kind}_es",
        symbol="AAPL",
        source="synthetic",
        start="2019-01-01",
        end="2024-01-01",
        params=params,
        horizon=HORIZON,
    )
    result = train_model(settings, request, tracker)
    assert result.version == "1" and np.isfinite(result.metrics["val_ic"])

    # every row the library saw, placed among all usable rows of the same bars
    window = DataRequest("synthetic", "AAPL", "1d", request.start, request.end)
    bars = ensure_bars_table(settings, window).bars()
    fset = get_feature_set("default")
    everything = make_training_data(compute_features(bars, fset), fset.columns, HORIZON, bars)
    fit_rows = _row_positions(everything.x, seen["fit"])
    (stop_x,) = seen["stop"]
    stop_rows = _row_positions(everything.x, stop_x)
    first_val = int(everything.timestamps.get_loc(pd.Timestamp(result.data_range["val_start"])))
    assert len(fit_rows) == result_param(tracker, result.run_id, "train_rows")
    assert len(stop_rows) == result_param(tracker, result.run_id, "early_stopping_rows") > 0
    # fit rows, an embargo of the horizon, the early-stopping rows, another embargo, validation
    assert fit_rows.max() + HORIZON < stop_rows.min()
    assert stop_rows.min() - fit_rows.max() == HORIZON + 1
    assert first_val - stop_rows.max() == HORIZON + 1
    assert np.all(np.diff(stop_rows) == 1)
    best = result_param(tracker, result.run_id, "early_stopping_best_iteration")
    assert 1 <= best <= params["n_estimators"]


def result_param(tracker: MlflowTracker, run_id: str, name: str) -> int:
    return int(tracker.client.get_run(run_id).data.params[name])
