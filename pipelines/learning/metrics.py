"""What every trainer reports per epoch, and early stopping on it.

Metric names (the same for every model type): classifiers report ``loss`` (log loss), ``accuracy``,
``val_loss`` and ``val_accuracy``; regressors ``loss`` (mean squared error), ``mae`` (mean absolute
error), ``val_loss`` and ``val_mae``. Training metrics are the model's as the epoch ends (not a
running mean over its batches), on at most ``TRAIN_SAMPLE`` training rows (a fixed sample), the
validation metrics on every validation row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipelines.learning.base import EarlyStopping, Task, TrainData

__all__ = [
    "TRAIN_SAMPLE",
    "Monitor",
    "epoch_metrics",
    "improves_upward",
    "metric_names",
    "train_sample",
]

TRAIN_SAMPLE = 20_000
_EPS = 1e-15


def metric_names(task: Task) -> tuple[str, ...]:
    """The metrics a ``task``'s trainers report each epoch, in order."""
    if task == "classification":
        return ("loss", "accuracy", "val_loss", "val_accuracy")
    return ("loss", "mae", "val_loss", "val_mae")


def improves_upward(metric: str) -> bool:
    """Accuracy (and r2) improve upwards; losses and errors downwards."""
    return metric.endswith(("accuracy", "r2"))


def train_sample(data: TrainData, limit: int = TRAIN_SAMPLE) -> tuple[NDArray[Any], NDArray[Any]]:
    """The training rows the per-epoch ``loss`` is measured on: all of them up to ``limit``, else an
    evenly spaced subset (the same every epoch)."""
    n = len(data.y_train)
    if n <= limit:
        return data.x_train, data.y_train
    index = np.linspace(0, n - 1, limit).astype(np.int64)
    return data.x_train[index], data.y_train[index]


def _scores(task: Task, y: NDArray[Any], predicted: NDArray[np.float64]) -> tuple[float, float]:
    if task == "classification":
        proba = np.clip(predicted, _EPS, 1.0)
        picked = proba[np.arange(len(y)), y.astype(np.int64)]
        loss = float(-np.mean(np.log(picked)))
        accuracy = float(np.mean(np.argmax(predicted, axis=1) == y))
        return loss, accuracy
    error = predicted.astype(np.float64) - y.astype(np.float64)
    return float(np.mean(error**2)), float(np.mean(np.abs(error)))


def epoch_metrics(
    task: Task,
    train: tuple[NDArray[Any], NDArray[np.float64]],
    val: tuple[NDArray[Any], NDArray[np.float64]],
) -> dict[str, float]:
    """The four metrics from (labels, predictions) of the training sample and the validation rows;
    predictions are ``Predictor.predict_proba``'s (probabilities, or values for regressors)."""
    names = metric_names(task)
    loss, second = _scores(task, *train)
    val_loss, val_second = _scores(task, *val)
    return dict(zip(names, (loss, second, val_loss, val_second), strict=True))


class Monitor:
    """Tracks the monitored metric across epochs: which epoch is best, and when to stop.

    With early stopping off, the best epoch is the last one (its weights are the ones kept)."""

    def __init__(self, early_stopping: EarlyStopping, history: dict[str, list[float]]) -> None:
        self.early_stopping = early_stopping
        self.history = history
        self.best_epoch = 0
        self.best_value = float("nan")
        self.stopped_epoch: int | None = None

    def update(self, epoch: int, metrics: Mapping[str, float]) -> tuple[bool, bool]:
        """Record ``epoch``'s metrics; answer (this epoch is the new best, stop now)."""
        for name, value in metrics.items():
            self.history.setdefault(name, []).append(float(value))
        if not self.early_stopping.enabled:
            self.best_epoch = epoch
            return True, False
        value = float(metrics[self.early_stopping.monitor])
        upward = improves_upward(self.early_stopping.monitor)
        better = self.best_epoch == 0 or (value > self.best_value if upward else value < self.best_value)
        if better and np.isfinite(value):
            self.best_epoch, self.best_value = epoch, value
            return True, False
        if epoch - self.best_epoch >= self.early_stopping.patience:
            self.stopped_epoch = epoch
            return False, True
        return False, False
