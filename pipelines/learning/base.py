"""The training platform's shared vocabulary: the data a trainer gets, what it reports per epoch,
what it returns, and the model types with their hyperparameter rules.

A *trainer* turns a ``TrainData`` (arrays already split into training and validation rows) into a
``Fitted`` model, calling ``on_epoch`` once per epoch (or per chunk of boosting rounds) with that
epoch's metrics; it applies early stopping itself and keeps the best epoch's weights. Trainers are
pure: no MLflow, no job queue, no web. ``pipelines.learning.registry`` maps ``model_type`` names to
trainers; ``pipelines.app`` runs them as jobs and registers the result in MLflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "EarlyStopping",
    "EpochCallback",
    "FeatureSpec",
    "FieldError",
    "Fitted",
    "Predictor",
    "Task",
    "TrainData",
    "Trainer",
]

Task = Literal["classification", "regression"]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One rejected input field, as the API's 400 ``details`` list shows it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs (``loss`` metrics improve
    downwards, accuracy / r2 upwards)."""

    enabled: bool = False
    patience: int = 10
    monitor: str = "val_loss"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How a dataset's columns became a model's input columns, kept with the model so that
    prediction inputs (lists of numbers) are read the same way.

    ``names``: the input columns in order. ``categories``: for a text column, its values; the
    column holds the value's index (code) in this list, -1 for a missing value. ``fill``: the value
    a missing number was given in training (the column's median). ``source``: ``table`` (the
    dataset's own columns) or ``ohlcv`` (per-bar features derived from market bars, see
    ``pipelines.learning.data``). ``target``: the target column (None for bars: the next bar's
    direction).
    """

    names: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fill: Mapping[str, float] = field(default_factory=dict)
    source: Literal["table", "ohlcv"] = "table"
    target: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "names": list(self.names),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "fill": dict(self.fill),
            "source": self.source,
            "target": self.target,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureSpec:
        return cls(
            names=tuple(str(n) for n in raw["names"]),
            categories={str(k): tuple(str(c) for c in v) for k, v in raw.get("categories", {}).items()},
            fill={str(k): float(v) for k, v in raw.get("fill", {}).items()},
            source="ohlcv" if raw.get("source") == "ohlcv" else "table",
            target=None if raw.get("target") is None else str(raw["target"]),
        )


@dataclass(frozen=True, slots=True)
class TrainData:
    """A dataset split for training.

    Classification: ``y_*`` hold class indices (int64) into ``classes`` (the dataset's own labels,
    as strings). Regression: ``y_*`` are float64 and ``classes`` is empty. Tabular ``x_*`` are
    float32 of shape (rows, features); image ``x_*`` are float32 of shape (n, height, width,
    channels) scaled to [0, 1]. ``time_series`` marks rows in time order (sequence models may be used;
    they cut the rows into windows themselves, the validation windows reaching back into the training
    rows' tail). ``spec``: how tabular columns were encoded (None for images).
    """

    task: Task
    x_train: NDArray[np.float32]
    y_train: NDArray[Any]
    x_val: NDArray[np.float32]
    y_val: NDArray[Any]
    feature_names: tuple[str, ...]
    classes: tuple[str, ...] = ()
    time_series: bool = False
    spec: FeatureSpec | None = None

    @property
    def input_shape(self) -> list[int]:
        return [int(n) for n in self.x_train.shape[1:]]


# (epoch number from 1, total epochs planned, that epoch's metrics: loss, accuracy, val_loss,
# val_accuracy for classifiers; loss, mae, val_loss, val_mae for regressors)
EpochCallback = Callable[[int, int, Mapping[str, float]], None]


class Predictor(Protocol):
    """A fitted model on the arrays of ``TrainData``'s shape (without the row axis fixed); a sequence
    model (``lstm``, ``gru``) takes windows, (rows, sequence_length, features)."""

    def predict_proba(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Classifiers: (rows, classes) probabilities; regressors: (rows,) predicted values."""
        ...

    def save(self, folder: Path) -> None:
        """Write the model into ``folder`` in its library's own format (no pickle); the model
        type's loader in ``pipelines.learning.registry`` reads it back."""
        ...


@dataclass(frozen=True, slots=True)
class Fitted:
    predictor: Predictor
    history: dict[str, list[float]]  # one list per metric, one value per epoch run
    best_epoch: int  # the epoch whose weights were kept (from 1)
    stopped_epoch: int | None  # where early stopping ended the run; None when all epochs ran
    parameters: int  # trainable parameters (tree models: number of leaves / nodes)
    architecture: dict[str, Any] = field(default_factory=dict)  # model-type specific description
    # ``predict_proba(x_val)`` of the kept model when the trainer already has it (spares a prediction)
    val_output: NDArray[np.float64] | None = None


class Trainer(Protocol):
    def __call__(
        self,
        data: TrainData,
        hyperparameters: Mapping[str, Any],
        early_stopping: EarlyStopping,
        on_epoch: EpochCallback,
        *,
        device: str = "cpu",
    ) -> Fitted: ...
