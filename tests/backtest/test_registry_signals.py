"""ml_predictive through the real model registry: a LightGBM model trained, registered in MLflow
(temp SQLite store) and loaded as champion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.app.train import plan_training, train_model
from pipelines.backtest import BacktestConfig, RegistrySignals, run_strategy
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.features import compute_features
from pipelines.models.registry import ModelRegistry
from pipelines.models.signals import derive_signals
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings


@pytest.mark.slow
def test_registry_signals_drive_ml_predictive(
    settings: Settings, tracker: MlflowTracker, tmp_path: Path
) -> None:
    request = plan_training(
        settings,
        model_type="lightgbm",
        model_name="lgbm_bt",
        symbol="AAPL",
        timeframe="1d",
        source="synthetic",
        start="2019-01-01",
        end="2023-01-01",
        params={"n_estimators": 40, "num_leaves": 15},
    )
    assert train_model(settings, request, tracker).champion
    registry = ModelRegistry(tracker, tmp_path / "cache")
    context = RegistrySignals(registry)
    bars = SyntheticProvider().fetch(
        parse_symbol("AAPL"),
        parse_timeframe("1d"),
        pd.Timestamp("2023-01-01", tz="UTC"),
        pd.Timestamp("2024-06-01", tz="UTC"),
    )
    signal = context.model_signal("lgbm_bt", bars)
    loaded = registry.load("lgbm_bt")
    x = compute_features(bars, loaded.meta.feature_set)[loaded.meta.feature_names].to_numpy()
    complete = np.isfinite(x).all(axis=1)
    want = derive_signals(loaded.model.predict(x), bars["close"].to_numpy(), loaded.meta.scale)["signal"]
    assert np.isnan(signal[~complete]).all() and (~complete).any()
    np.testing.assert_allclose(signal[complete], want[complete])
    assert (np.abs(signal[complete]) < 1).all()
    res = run_strategy(
        bars, "ml_predictive", {"model_name": "lgbm_bt", "threshold": 0.05}, BacktestConfig(), context
    )
    expected_long = np.flatnonzero(np.nan_to_num(signal) > 0.05)
    assert len(res.trades) > 0
    assert res.position[expected_long[0] + 1] > 0
