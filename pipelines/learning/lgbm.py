"""LightGBM gradient boosting (``lightgbm``): classification and regression on tabular rows.

Boosting rounds are reported in epochs of ``rounds_per_epoch`` rounds (epochs = ceil(n_estimators /
rounds_per_epoch)). Early stopping is decided per epoch on the monitored metric; the model keeps the
rounds up to the best epoch's end. Saved as LightGBM's text model (``model.txt``) and a
``config.json``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from numpy.typing import NDArray

from pipelines.learning.base import EarlyStopping, EpochCallback, Fitted, Task, TrainData
from pipelines.learning.lgbm_trees import CompiledTrees, compile_trees
from pipelines.learning.metrics import Monitor, metric_names, train_sample
from pipelines.learning.params import normalized

__all__ = ["LightGBMPredictor", "load_lightgbm", "train_lightgbm"]

MODEL_FILE = "model.txt"
CONFIG_FILE = "config.json"
SMALL_ROWS = 50_000  # below this, one thread: OpenMP's start-up and contention cost more than they win


class LightGBMPredictor:
    """A model from its text (``Booster.model_to_string()``). Predicts through the model's compiled
    trees (``lgbm_trees``: the library's answers, bit for bit); through LightGBM itself for a model
    they do not cover and for batches large enough to spread over every core."""

    def __init__(self, text: str, task: Task, n_classes: int) -> None:
        self.text = text
        self.booster = lgb.Booster(model_str=text)
        self.trees: CompiledTrees | None = compile_trees(text)
        self.task: Task = task
        self.n_classes = n_classes

    def predict_proba(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        x = np.asarray(x, dtype=np.float32)
        threads = _threads(len(x))
        if threads == 1 and self.trees is not None:
            return _proba(self.trees.predict(x), self.task)
        return _proba(self.booster.predict(x, num_threads=threads), self.task)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MODEL_FILE).write_text(self.text, encoding="utf-8")
        config = {"library": "lightgbm", "task": self.task, "n_classes": self.n_classes}
        (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def load_lightgbm(folder: Path) -> LightGBMPredictor:
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    text = (folder / MODEL_FILE).read_text(encoding="utf-8")
    return LightGBMPredictor(text, config["task"], int(config["n_classes"]))


def _proba(raw: Any, task: Task) -> NDArray[np.float64]:
    values = np.asarray(raw, dtype=np.float64)
    if task == "classification" and values.ndim == 1:
        return np.column_stack([1.0 - values, values])
    return values


def _threads(rows: int) -> int:
    return 1 if rows < SMALL_ROWS else 0


def _params(data: TrainData, hp: Mapping[str, Any]) -> dict[str, Any]:
    n_classes = len(data.classes)
    if data.task == "regression":
        objective: dict[str, Any] = {"objective": "regression"}
    elif n_classes == 2:
        objective = {"objective": "binary"}
    else:
        objective = {"objective": "multiclass", "num_class": n_classes}
    return {
        **objective,
        "learning_rate": hp["learning_rate"],
        "num_leaves": hp["num_leaves"],
        "max_depth": -1 if hp["max_depth"] is None else hp["max_depth"],
        "min_child_samples": hp["min_child_samples"],
        "lambda_l2": hp["l2"],
        "bagging_fraction": hp["subsample"],
        "bagging_freq": 1 if hp["subsample"] < 1 else 0,
        "feature_fraction": hp["colsample"],
        "seed": hp["seed"],
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": _threads(len(data.y_train)),
        "verbose": -1,
    }


def train_lightgbm(
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    *,
    device: str = "cpu",
) -> Fitted:
    """Boost ``n_estimators`` rounds (fewer when early stopping ends the run). LightGBM runs on the
    CPU whatever ``device`` is.

    The per-epoch metrics are LightGBM's own evaluation of two validation sets it keeps scores for
    (the training sample and the validation rows): each round adds its tree's output to those
    scores, so an epoch's metrics cost a pass over the rows, not a prediction with every tree so far.
    """
    hp = normalized("lightgbm", hyperparameters)
    rounds, chunk = int(hp["n_estimators"]), int(hp["rounds_per_epoch"])
    epochs = math.ceil(rounds / chunk)
    monitor = Monitor(early_stopping, {})
    params = {**_params(data, hp), "metric": list(_METRICS[_metric_kind(data)])}
    train_set = lgb.Dataset(data.x_train, label=data.y_train, params=params)
    booster = lgb.Booster(params, train_set)
    sample_x, sample_y = train_sample(data)
    sets = {"train": (sample_x, sample_y), "val": (data.x_val, data.y_val)}
    valid = {k: lgb.Dataset(x, label=y, reference=train_set, params=params) for k, (x, y) in sets.items()}
    for name, dataset in valid.items():
        booster.add_valid(dataset, name)
    scores = _ValScores(valid["val"])
    kept: NDArray[np.float64] | None = None
    for epoch in range(1, epochs + 1):
        for _ in range(min(chunk, rounds - (epoch - 1) * chunk)):
            booster.update()
        metrics = _evaluated(booster, data, scores)
        on_epoch(epoch, epochs, metrics)
        best, stop = monitor.update(epoch, metrics)
        if best:
            kept = scores.copy()
        if stop:
            break
    return _fitted(booster, data, hp, monitor, None if kept is None else _proba(kept, data.task))


class _ValScores:
    """A custom metric that measures nothing: it keeps LightGBM's current predictions of the
    validation rows (the model so far, as probabilities or values), which the kept epoch's held-out
    figures reuse instead of predicting again."""

    def __init__(self, val_set: lgb.Dataset) -> None:
        self.val_set = val_set
        self.latest: NDArray[np.float64] | None = None

    def __call__(self, predicted: NDArray[np.float64], dataset: lgb.Dataset) -> tuple[str, float, bool]:
        if dataset is self.val_set:
            self.latest = predicted  # LightGBM's buffer, overwritten by its next evaluation
        return "kept", 0.0, False

    def copy(self) -> NDArray[np.float64] | None:
        return None if self.latest is None else np.array(self.latest, dtype=np.float64)


# LightGBM's metrics for (loss, second metric) per kind: log loss and error rate (accuracy is one
# less it), or squared and absolute error.
_METRICS: dict[str, tuple[str, str]] = {
    "binary": ("binary_logloss", "binary_error"),
    "multiclass": ("multi_logloss", "multi_error"),
    "regression": ("l2", "l1"),
}


def _metric_kind(data: TrainData) -> str:
    if data.task == "regression":
        return "regression"
    return "binary" if len(data.classes) == 2 else "multiclass"


def _evaluated(booster: lgb.Booster, data: TrainData, scores: _ValScores) -> dict[str, float]:
    """The epoch's metrics (``metrics.metric_names``) from LightGBM's evaluation of its two sets."""
    loss_name, second_name = _METRICS[_metric_kind(data)]
    found = {(r[0], r[1]): float(r[2]) for r in booster.eval_valid(feval=scores)}
    out: list[float] = []
    for where in ("train", "val"):
        second = found[(where, second_name)]
        out += [found[(where, loss_name)], second if data.task == "regression" else 1.0 - second]
    return dict(zip(metric_names(data.task), out, strict=True))


def _fitted(
    booster: lgb.Booster,
    data: TrainData,
    hp: Mapping[str, Any],
    monitor: Monitor,
    val_output: NDArray[np.float64] | None,
) -> Fitted:
    """The rounds up to the best epoch's end, as the result."""
    kept_epoch = max(monitor.best_epoch, 1)
    kept_rounds = min(kept_epoch * int(hp["rounds_per_epoch"]), booster.current_iteration())
    text = booster.model_to_string(num_iteration=kept_rounds)
    leaves = [int(n) for n in re.findall(r"^num_leaves=(\d+)$", text, flags=re.MULTILINE)]
    return Fitted(
        predictor=LightGBMPredictor(text, data.task, len(data.classes)),
        history=monitor.history,
        best_epoch=kept_epoch,
        stopped_epoch=monitor.stopped_epoch,
        parameters=sum(leaves),
        val_output=val_output,
        architecture={
            "library": "lightgbm",
            "objective": _params(data, hp)["objective"],
            "rounds": kept_rounds,
            "trees": len(leaves),
            "features": len(data.feature_names),
            "output_classes": len(data.classes),
        },
    )
