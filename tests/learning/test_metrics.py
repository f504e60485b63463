"""Per-epoch metrics, early stopping's bookkeeping and a model's held-out performance."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.learning.base import EarlyStopping
from pipelines.learning.metrics import Monitor, epoch_metrics, improves_upward, performance


def test_epoch_metrics_are_log_loss_accuracy_or_mse_mae() -> None:
    y = np.array([0, 1])
    proba = np.array([[0.8, 0.2], [0.4, 0.6]])
    metrics = epoch_metrics("classification", (y, proba), (y[:1], proba[:1]))
    assert metrics["loss"] == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    assert metrics["accuracy"] == 1.0 and metrics["val_accuracy"] == 1.0
    assert metrics["val_loss"] == pytest.approx(-np.log(0.8))
    values = epoch_metrics(
        "regression", (np.array([1.0, 3.0]), np.array([2.0, 3.0])), (np.array([0.0]), np.array([2.0]))
    )
    assert values == {"loss": 0.5, "mae": 0.5, "val_loss": 4.0, "val_mae": 2.0}


def test_monitor_counts_patience_from_the_best_epoch() -> None:
    monitor = Monitor(EarlyStopping(enabled=True, patience=2, monitor="val_accuracy"), {})
    answers = [monitor.update(e, {"val_accuracy": v}) for e, v in enumerate([0.5, 0.7, 0.7, 0.6], start=1)]
    assert answers == [(True, False), (True, False), (False, False), (False, True)]
    assert monitor.best_epoch == 2 and monitor.stopped_epoch == 4
    assert monitor.history == {"val_accuracy": [0.5, 0.7, 0.7, 0.6]}
    assert improves_upward("val_accuracy") and not improves_upward("val_mae")


def test_monitor_without_early_stopping_keeps_the_last_epoch() -> None:
    monitor = Monitor(EarlyStopping(enabled=False), {})
    for epoch, loss in enumerate([1.0, 0.5, 2.0], start=1):
        assert monitor.update(epoch, {"val_loss": loss}) == (True, False)
    assert monitor.best_epoch == 3 and monitor.stopped_epoch is None


def test_performance_of_a_classifier_and_a_regressor() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])  # one class-0 row missed
    scores = performance("classification", y, proba)
    assert scores["accuracy"] == 0.75
    assert scores["precision"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert scores["recall"] == pytest.approx((0.5 + 1.0) / 2)
    assert scores["f1_score"] == pytest.approx((2 / 3 + 0.8) / 2)
    regression = performance("regression", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert regression == {"r2": 0.5, "mse": pytest.approx(1 / 3), "mae": pytest.approx(1 / 3)}
