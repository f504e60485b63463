"""Registered models trained once per session on synthetic data in a temp MLflow store."""

from __future__ import annotations

import pytest

from pipelines.app.train import plan_training, train_model
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import MlflowTracker
from pipelines.prediction import Predictor
from pipelines.settings import Settings

HISTORY_START = "2022-01-01"
MODELS = {  # name -> (kind, symbol, params)
    "lgbm_aapl": ("lightgbm", "AAPL", {"n_estimators": 40, "num_leaves": 15}),
    "lgbm_msft": ("lightgbm", "MSFT", {"n_estimators": 20, "num_leaves": 7}),
    "ohlc_aapl": ("multi_ohlc", "AAPL", {"n_steps": 3, "n_estimators": 20, "target_components": 3}),
    "lstm_aapl": ("lstm", "AAPL", {"seq_len": 5, "hidden_size": 8, "epochs": 2, "batch_size": 256}),
}


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The home the models were trained in: its store holds their bars."""
    return Settings(home=tmp_path_factory.mktemp("trained") / "home", history_start=HISTORY_START)


@pytest.fixture(scope="session")
def tracker(trained_settings: Settings) -> MlflowTracker:
    root = trained_settings.home.parent
    tracker = MlflowTracker(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts")
    for name, (kind, symbol, params) in MODELS.items():
        request = plan_training(
            trained_settings, model_type=kind, model_name=name, symbol=symbol, params=params
        )
        train_model(trained_settings, request, tracker)
    return tracker


@pytest.fixture(scope="session")
def registry(tracker: MlflowTracker, tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    return ModelRegistry(tracker, tmp_path_factory.mktemp("models-cache"))


@pytest.fixture(scope="session")
def trained_service(trained_settings: Settings, registry: ModelRegistry) -> Predictor:
    """A service on the training home (shared: tests on it must not write to its store)."""
    return Predictor(trained_settings, registry)


@pytest.fixture
def service(settings: Settings, registry: ModelRegistry) -> Predictor:
    """A service on a fresh, empty home of its own."""
    return Predictor(settings, registry)
