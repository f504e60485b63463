"""XGBoost gradient boosting (``xgboost``): classification and regression on tabular rows.

Rounds are reported in epochs of ``rounds_per_epoch`` rounds, as LightGBM's are. Early stopping is
an XGBoost ``TrainingCallback`` that ends training (XGBoost's own mechanism) when the monitored
metric has not improved for ``patience`` epochs; the model keeps the rounds up to the best epoch's
end (a slice of the booster). ``device`` "cuda" trains on the GPU (XGBoost's ``device``). Saved as
XGBoost's JSON model (``model.json``) and a ``config.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from pipelines.learning.base import EarlyStopping, EpochCallback, Fitted, Task, TrainData
from pipelines.learning.metrics import Monitor, epoch_metrics, train_sample
from pipelines.learning.params import normalized

__all__ = ["XGBoostPredictor", "load_xgboost", "train_xgboost"]

MODEL_FILE = "model.json"
CONFIG_FILE = "config.json"
SMALL_ROWS = 50_000  # below this, one thread (see lgbm)


class XGBoostPredictor:
    def __init__(self, booster: xgb.Booster, task: Task, n_classes: int) -> None:
        self.booster = booster
        self.task: Task = task
        self.n_classes = n_classes

    def predict_proba(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        return _proba(self.booster.inplace_predict(np.asarray(x, dtype=np.float32)), self.task)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / MODEL_FILE))
        config = {"library": "xgboost", "task": self.task, "n_classes": self.n_classes}
        (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def load_xgboost(folder: Path) -> XGBoostPredictor:
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    booster = xgb.Booster()
    booster.load_model(str(folder / MODEL_FILE))
    booster.set_param({"nthread": 1, "device": "cpu"})
    return XGBoostPredictor(booster, config["task"], int(config["n_classes"]))


def _proba(raw: Any, task: Task) -> NDArray[np.float64]:
    values = np.asarray(raw, dtype=np.float64)
    if task == "classification" and values.ndim == 1:
        return np.column_stack([1.0 - values, values])
    return values


def _params(data: TrainData, hp: Mapping[str, Any], device: str) -> dict[str, Any]:
    n_classes = len(data.classes)
    if data.task == "regression":
        objective: dict[str, Any] = {"objective": "reg:squarederror"}
    elif n_classes == 2:
        objective = {"objective": "binary:logistic"}
    else:
        objective = {"objective": "multi:softprob", "num_class": n_classes}
    return {
        **objective,
        "eta": hp["learning_rate"],
        "max_depth": hp["max_depth"],
        "min_child_weight": hp["min_child_weight"],
        "lambda": hp["l2"],
        "subsample": hp["subsample"],
        "colsample_bytree": hp["colsample"],
        "seed": hp["seed"],
        "tree_method": "hist",
        "device": "cuda" if device.startswith("cuda") else "cpu",
        "nthread": 1 if len(data.y_train) < SMALL_ROWS else 0,
        "verbosity": 0,
    }


class _Epochs(xgb.callback.TrainingCallback):
    """Reports every ``chunk`` rounds as an epoch and stops the run as the monitor says."""

    def __init__(
        self, data: TrainData, rounds: int, chunk: int, monitor: Monitor, on_epoch: EpochCallback
    ) -> None:
        super().__init__()
        self.data, self.rounds, self.chunk = data, rounds, chunk
        self.monitor, self.on_epoch = monitor, on_epoch
        self.sample = train_sample(data)

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        done = epoch + 1
        if done % self.chunk and done != self.rounds:
            return False
        number = math.ceil(done / self.chunk)
        task = self.data.task
        metrics = epoch_metrics(
            task,
            (self.sample[1], _proba(model.inplace_predict(self.sample[0], iteration_range=(0, done)), task)),
            (
                self.data.y_val,
                _proba(model.inplace_predict(self.data.x_val, iteration_range=(0, done)), task),
            ),
        )
        self.on_epoch(number, math.ceil(self.rounds / self.chunk), metrics)
        return self.monitor.update(number, metrics)[1]


def train_xgboost(
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    *,
    device: str = "cpu",
) -> Fitted:
    """Boost ``n_estimators`` rounds (fewer when early stopping ends the run)."""
    hp = normalized("xgboost", hyperparameters)
    rounds, chunk = int(hp["n_estimators"]), int(hp["rounds_per_epoch"])
    monitor = Monitor(early_stopping, {})
    train_set = xgb.DMatrix(data.x_train, label=data.y_train)
    params = _params(data, hp, device)
    callback = _Epochs(data, rounds, chunk, monitor, on_epoch)
    booster = xgb.train(params, train_set, num_boost_round=rounds, callbacks=[callback], verbose_eval=False)
    kept_epoch = max(monitor.best_epoch, 1)
    kept_rounds = min(kept_epoch * chunk, booster.num_boosted_rounds())
    booster = booster[:kept_rounds]
    booster.set_param({"device": "cpu"})
    leaves = sum(tree.count("leaf=") for tree in booster.get_dump())
    return Fitted(
        predictor=XGBoostPredictor(booster, data.task, len(data.classes)),
        history=monitor.history,
        best_epoch=kept_epoch,
        stopped_epoch=monitor.stopped_epoch,
        parameters=leaves,
        architecture={
            "library": "xgboost",
            "objective": params["objective"],
            "rounds": kept_rounds,
            "features": len(data.feature_names),
            "output_classes": len(data.classes),
        },
    )
