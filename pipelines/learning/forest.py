"""Random forests (``random_forest``, scikit-learn): classification and regression on tabular rows.

Trees are grown ``trees_per_epoch`` at a time (``warm_start``), each batch reported as an epoch.
Early stopping keeps the trees grown up to the best epoch (the forest's first trees). Saved with
skops (``model.skops``, no pickle): loading accepts only the types a forest holds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import skops.io as sio  # type: ignore[import-untyped]
from numpy.typing import NDArray
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from pipelines.errors import ModelError
from pipelines.learning.base import EarlyStopping, EpochCallback, Fitted, Task, TrainData
from pipelines.learning.metrics import Monitor, epoch_metrics, train_sample
from pipelines.learning.params import normalized

__all__ = ["ForestPredictor", "load_forest", "train_forest"]

MODEL_FILE = "model.skops"
CONFIG_FILE = "config.json"
SMALL_ROWS = 50_000  # below this, one job (see lgbm)
# What a fitted forest holds beyond skops' default trusted types (numpy, the estimators themselves).
_FOREST_TYPES = ("sklearn.tree._tree.Tree",)

Forest: TypeAlias = Any  # RandomForestClassifier | RandomForestRegressor; sklearn has no type hints


class ForestPredictor:
    def __init__(self, forest: Forest, task: Task, n_classes: int) -> None:
        self.forest = forest
        self.task: Task = task
        self.n_classes = n_classes

    def predict_proba(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        x = np.asarray(x, dtype=np.float32)
        if self.task == "regression":
            return np.asarray(self.forest.predict(x), dtype=np.float64)
        # classes missing from the training rows get probability 0
        out = np.zeros((len(x), self.n_classes), dtype=np.float64)
        out[:, self.forest.classes_.astype(np.int64)] = self.forest.predict_proba(x)
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        sio.dump(self.forest, folder / MODEL_FILE)
        config = {"library": "sklearn", "task": self.task, "n_classes": self.n_classes}
        (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def load_forest(folder: Path) -> ForestPredictor:
    """Raises ``ModelError`` when the file holds anything a forest does not."""
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    path = folder / MODEL_FILE
    unexpected = sorted(set(sio.get_untrusted_types(file=path)) - set(_FOREST_TYPES))
    if unexpected:
        raise ModelError(f"{path} holds types a random forest does not: {', '.join(unexpected)}")
    forest = sio.load(path, trusted=list(_FOREST_TYPES))
    return ForestPredictor(forest, config["task"], int(config["n_classes"]))


def _forest(data: TrainData, hp: Mapping[str, Any]) -> Forest:
    common: dict[str, Any] = {
        "n_estimators": 0,
        "max_depth": hp["max_depth"],
        "min_samples_leaf": hp["min_samples_leaf"],
        "max_features": None if hp["max_features"] == "all" else hp["max_features"],
        "random_state": hp["seed"],
        "n_jobs": 1 if len(data.y_train) < SMALL_ROWS else -1,
        "warm_start": True,
    }
    if data.task == "classification":
        return RandomForestClassifier(**common)
    return RandomForestRegressor(**common)


def train_forest(
    data: TrainData,
    hyperparameters: Mapping[str, Any],
    early_stopping: EarlyStopping,
    on_epoch: EpochCallback,
    *,
    device: str = "cpu",
) -> Fitted:
    """Grow ``n_estimators`` trees (fewer when early stopping ends the run); on the CPU."""
    hp = normalized("random_forest", hyperparameters)
    total, chunk = int(hp["n_estimators"]), int(hp["trees_per_epoch"])
    epochs = math.ceil(total / chunk)
    monitor = Monitor(early_stopping, {})
    forest = _forest(data, hp)
    predictor = ForestPredictor(forest, data.task, len(data.classes))
    sample = train_sample(data)
    for epoch in range(1, epochs + 1):
        forest.set_params(n_estimators=min(epoch * chunk, total))
        forest.fit(data.x_train, data.y_train)
        metrics = epoch_metrics(
            data.task,
            (sample[1], predictor.predict_proba(sample[0])),
            (data.y_val, predictor.predict_proba(data.x_val)),
        )
        on_epoch(epoch, epochs, metrics)
        if monitor.update(epoch, metrics)[1]:
            break
    kept_epoch = max(monitor.best_epoch, 1)
    kept = min(kept_epoch * chunk, total)
    forest.estimators_ = forest.estimators_[:kept]
    forest.set_params(n_estimators=kept, warm_start=False)
    return Fitted(
        predictor=predictor,
        history=monitor.history,
        best_epoch=kept_epoch,
        stopped_epoch=monitor.stopped_epoch,
        parameters=int(sum(tree.tree_.node_count for tree in forest.estimators_)),
        architecture={
            "library": "sklearn",
            "trees": kept,
            "features": len(data.feature_names),
            "output_classes": len(data.classes),
        },
    )
