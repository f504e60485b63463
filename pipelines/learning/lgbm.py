"""LightGBM gradient boosting (``lightgbm``): classification and regression on tabular rows.

Boosting rounds are reported in epochs of ``rounds_per_epoch`` rounds (epochs = ceil(n_estimators /
rounds_per_epoch)). Early stopping is LightGBM's own mechanism (a callback raising its
``EarlyStopException`` with the best round), decided per epoch on the monitored metric; the model
keeps the rounds up to the best epoch's end. Saved as LightGBM's text model (``model.txt``) and a
``config.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from numpy.typing import NDArray

from pipelines.learning.base import EarlyStopping, EpochCallback, Fitted, Task, TrainData
from pipelines.learning.metrics import Monitor, epoch_metrics, train_sample
from pipelines.learning.params import normalized

__all__ = ["LightGBMPredictor", "load_lightgbm", "train_lightgbm"]

MODEL_FILE = "model.txt"
CONFIG_FILE = "config.json"
SMALL_ROWS = 50_000  # below this, one thread: OpenMP's start-up and contention cost more than they win


class LightGBMPredictor:
    def __init__(self, booster: lgb.Booster, task: Task, n_classes: int) -> None:
        self.booster = booster
        self.task: Task = task
        self.n_classes = n_classes

    def predict_proba(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        x = np.asarray(x, dtype=np.float32)
        return _proba(self.booster.predict(x, num_threads=_threads(len(x))), self.task)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MODEL_FILE).write_text(self.booster.model_to_string(), encoding="utf-8")
        config = {"library": "lightgbm", "task": self.task, "n_classes": self.n_classes}
        (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def load_lightgbm(folder: Path) -> LightGBMPredictor:
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    booster = lgb.Booster(model_str=(folder / MODEL_FILE).read_text(encoding="utf-8"))
    return LightGBMPredictor(booster, config["task"], int(config["n_classes"]))


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
    CPU whatever ``device`` is."""
    hp = normalized("lightgbm", hyperparameters)
    rounds, chunk = int(hp["n_estimators"]), int(hp["rounds_per_epoch"])
    epochs = math.ceil(rounds / chunk)
    monitor = Monitor(early_stopping, {})
    sample = train_sample(data)
    threads = _threads(len(data.y_train))

    def report(env: Any) -> None:
        done = env.iteration + 1
        if done % chunk and done != rounds:
            return
        epoch = math.ceil(done / chunk)
        booster: lgb.Booster = env.model
        metrics = epoch_metrics(
            data.task,
            (
                sample[1],
                _proba(booster.predict(sample[0], num_iteration=done, num_threads=threads), data.task),
            ),
            (
                data.y_val,
                _proba(booster.predict(data.x_val, num_iteration=done, num_threads=threads), data.task),
            ),
        )
        on_epoch(epoch, epochs, metrics)
        _, stop = monitor.update(epoch, metrics)
        if stop:
            best_round = min(monitor.best_epoch * chunk, rounds)
            raise lgb.callback.EarlyStopException(best_round - 1, [])

    train_set = lgb.Dataset(data.x_train, label=data.y_train, free_raw_data=False)
    booster = lgb.train(_params(data, hp), train_set, num_boost_round=rounds, callbacks=[report])
    return _fitted(booster, data, hp, monitor)


def _fitted(booster: lgb.Booster, data: TrainData, hp: Mapping[str, Any], monitor: Monitor) -> Fitted:
    """The rounds up to the best epoch's end, as the result."""
    kept_epoch = max(monitor.best_epoch, 1)
    kept_rounds = min(kept_epoch * int(hp["rounds_per_epoch"]), booster.current_iteration())
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=kept_rounds))
    trees = booster.dump_model()["tree_info"]
    return Fitted(
        predictor=LightGBMPredictor(booster, data.task, len(data.classes)),
        history=monitor.history,
        best_epoch=kept_epoch,
        stopped_epoch=monitor.stopped_epoch,
        parameters=int(sum(t["num_leaves"] for t in trees)),
        architecture={
            "library": "lightgbm",
            "objective": _params(data, hp)["objective"],
            "rounds": kept_rounds,
            "trees": len(trees),
            "features": len(data.feature_names),
            "output_classes": len(data.classes),
        },
    )
