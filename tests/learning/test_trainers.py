"""Every model type learns a known function, stops early keeping its best epoch, and reads back what
it saved with identical predictions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.learning.base import EarlyStopping, Fitted, TrainData
from pipelines.learning.metrics import epoch_metrics, metric_names
from pipelines.learning.registry import MODEL_TYPES, load_predictor, planned_epochs
from tests.learning.support import Case, r2

# Small runs that still reach the bars below on the generated tables.
FAST: dict[str, dict[str, Any]] = {
    "lightgbm": {"n_estimators": 100, "rounds_per_epoch": 10},
    "xgboost": {"n_estimators": 100, "rounds_per_epoch": 10},
    "random_forest": {"n_estimators": 40, "trees_per_epoch": 10},
    "logistic": {"epochs": 15, "batch_size": 64, "learning_rate": 0.05},
    "linear": {"epochs": 15, "batch_size": 64, "learning_rate": 0.05},
    "mlp": {"epochs": 15, "batch_size": 64, "learning_rate": 0.01, "hidden_layers": [32]},
    # on a table a ResNet is a residual MLP (8 blocks for resnet18)
    "resnet18": {"epochs": 10, "batch_size": 64, "learning_rate": 0.003, "base_width": 16, "dropout": 0.1},
}
TABULAR = [name for name in FAST if not MODEL_TYPES[name].time_series_only]


def fit(
    name: str, data: TrainData, early: EarlyStopping | None = None, **hp: Any
) -> tuple[Fitted, list[tuple[int, int, Mapping[str, float]]]]:
    calls: list[tuple[int, int, Mapping[str, float]]] = []
    hyperparameters = {**FAST[name], **hp}
    fitted = MODEL_TYPES[name].trainer(
        data, hyperparameters, early or EarlyStopping(), lambda e, t, m: calls.append((e, t, dict(m)))
    )
    return fitted, calls


def learns(name: str, case: Case) -> tuple[Fitted, list[tuple[int, int, Mapping[str, float]]]]:
    fitted, calls = fit(name, case.data)
    total = planned_epochs(name, FAST[name])
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert {c[1] for c in calls} == {total}
    assert tuple(fitted.history) == metric_names(case.data.task)
    assert all(len(v) == total for v in fitted.history.values())
    assert fitted.best_epoch == total and fitted.stopped_epoch is None
    assert fitted.parameters > 0
    return fitted, calls


@pytest.mark.parametrize("name", [n for n in TABULAR if "classification" in MODEL_TYPES[n].tasks])
def test_classifier_learns_the_classes(name: str, classification: Case) -> None:
    fitted, _ = learns(name, classification)
    proba = fitted.predictor.predict_proba(classification.x_test)
    assert proba.shape == (len(classification.y_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float(np.mean(np.argmax(proba, axis=1) == classification.y_test))
    assert accuracy >= 0.95, accuracy
    assert fitted.history["val_accuracy"][-1] >= 0.9


@pytest.mark.parametrize("name", [n for n in TABULAR if "regression" in MODEL_TYPES[n].tasks])
def test_regressor_learns_the_function(name: str, regression: Case) -> None:
    fitted, _ = learns(name, regression)
    predicted = fitted.predictor.predict_proba(regression.x_test)
    assert predicted.shape == (len(regression.y_test),)
    assert r2(regression.y_test, predicted) >= 0.9
    assert fitted.history["val_loss"][-1] < fitted.history["val_loss"][0]


@pytest.mark.parametrize("name", TABULAR)
def test_save_and_load_give_identical_predictions(name: str, classification: Case, tmp_path: Path) -> None:
    fitted, _ = fit(name, classification.data)
    fitted.predictor.save(tmp_path / "model")
    loaded = load_predictor(name, tmp_path / "model")
    assert np.array_equal(
        loaded.predict_proba(classification.x_test), fitted.predictor.predict_proba(classification.x_test)
    )
    assert not list((tmp_path / "model").glob("*.pkl"))


def noisy(case: Case) -> TrainData:
    """The same rows with shuffled labels: nothing to learn, so the validation loss rises."""
    rng = np.random.default_rng(3)
    return replace(case.data, y_train=rng.permutation(case.data.y_train))


@pytest.mark.parametrize("name", TABULAR)
def test_early_stopping_stops_and_keeps_the_best_epoch(name: str, classification: Case) -> None:
    data = noisy(classification)
    early = EarlyStopping(enabled=True, patience=2, monitor="val_loss")
    fitted, calls = fit(name, data, early, **STOPPING[name])
    assert fitted.stopped_epoch is not None
    assert fitted.stopped_epoch == len(calls) == fitted.best_epoch + early.patience
    losses = fitted.history["val_loss"]
    assert fitted.best_epoch == int(np.argmin(losses)) + 1
    # the kept weights are the best epoch's: their validation loss is the one reported for it
    proba = fitted.predictor.predict_proba(data.x_val)
    kept = epoch_metrics(data.task, (data.y_val, proba), (data.y_val, proba))["val_loss"]
    assert kept == pytest.approx(losses[fitted.best_epoch - 1], rel=1e-5)
    assert kept < losses[-1]


# Settings that overfit shuffled labels quickly.
STOPPING: dict[str, dict[str, Any]] = {
    "lightgbm": {"n_estimators": 1000, "rounds_per_epoch": 5, "learning_rate": 0.3, "min_child_samples": 2},
    "xgboost": {"n_estimators": 1000, "rounds_per_epoch": 5, "learning_rate": 0.3, "min_child_weight": 0},
    "random_forest": {"n_estimators": 200, "trees_per_epoch": 1, "max_depth": 3},
    "logistic": {"epochs": 300, "learning_rate": 0.5, "optimizer": "sgd"},
    "linear": {"epochs": 300, "learning_rate": 0.5, "optimizer": "sgd"},
    "mlp": {"epochs": 300, "learning_rate": 0.01, "hidden_layers": [128, 128]},
    "resnet18": {"epochs": 300, "learning_rate": 0.01, "base_width": 64, "dropout": 0.0},
}


# Randomness each model type draws from its seed: row sampling for boosting, bootstraps, weights.
RANDOM: dict[str, dict[str, Any]] = {
    "lightgbm": {"subsample": 0.5},
    "xgboost": {"subsample": 0.5},
    "random_forest": {},
    "mlp": {},
    "resnet18": {},
}


@pytest.mark.parametrize("name", list(RANDOM))
def test_the_same_seed_gives_the_same_model(name: str, regression: Case) -> None:
    first, _ = fit(name, regression.data, seed=7, **RANDOM[name])
    again, _ = fit(name, regression.data, seed=7, **RANDOM[name])
    other, _ = fit(name, regression.data, seed=8, **RANDOM[name])
    x = regression.x_test
    assert np.array_equal(first.predictor.predict_proba(x), again.predictor.predict_proba(x))
    assert first.history == again.history
    assert not np.array_equal(first.predictor.predict_proba(x), other.predictor.predict_proba(x))
