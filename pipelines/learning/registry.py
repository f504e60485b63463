"""The model types a training job may name: what each trains, its hyperparameter rules, its cost for
time estimates, its trainer and the loader of what the trainer saved; and the checks of a training
request's other settings (validation split, early stopping).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

from pipelines.errors import InvalidRequestError
from pipelines.learning import params
from pipelines.learning.base import EarlyStopping, FieldError, Predictor, Task, Trainer
from pipelines.learning.lgbm import load_lightgbm, train_lightgbm
from pipelines.learning.metrics import metric_names
from pipelines.learning.params import Param
from pipelines.learning.xgbm import load_xgboost, train_xgboost

__all__ = [
    "MODEL_TYPES",
    "ModelSpec",
    "check_model_type",
    "check_validation_split",
    "estimate_seconds",
    "known_model_types",
    "load_predictor",
    "planned_epochs",
    "validate_early_stopping",
    "validate_hyperparameters",
]


def _deferred(module: str, name: str, *args: Any) -> Any:
    """A trainer or loader imported on its first call: torch (and skops, which imports every module of
    scikit-learn) take seconds to import, and the API process reads this registry at start-up
    (``name(*args)`` when args are given: a trainer class built with them)."""

    def call(*call_args: Any, **kwargs: Any) -> Any:
        target = getattr(import_module(f"pipelines.learning.{module}"), name)
        return (target(*args) if args else target)(*call_args, **kwargs)

    return call


train_forest = _deferred("forest", "train_forest")
load_forest = _deferred("forest", "load_forest")
train_logistic = _deferred("torch_fit", "train_logistic")
train_linear = _deferred("torch_fit", "train_linear")
train_mlp = _deferred("torch_fit", "train_mlp")
train_lstm = _deferred("torch_fit", "train_lstm")
train_gru = _deferred("torch_fit", "train_gru")
load_torch = _deferred("nets", "load_torch")
load_resnet = _deferred("images", "load_resnet")

MAX_VALIDATION_SPLIT = 0.9
MAX_PATIENCE = 1_000
_STARTUP_SECONDS = 5.0  # the worker's start, loading the data and the libraries
# Registration: the MLflow run, the held-out figures, the pyfunc folder, the registry and index rows.
# About 1.7 s for 1,000,000 rows in benchmarks/bench_training.py on a quiet machine; kept generous.
_REGISTER_SECONDS = 5.0
_REGISTER_SECONDS_PER_ROW = 2e-6


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model type. ``seconds_per_unit``: CPU seconds per row x feature x epoch for
    ``estimate_seconds``, measured by ``benchmarks/calibrate_training.py`` (default hyperparameters,
    20 features, two classes; trees on 200,000 rows, networks on 20,000: the process's CPU seconds
    over the work, on the 2-core CI machine kind, 2026-12-06, load average 8-9); for the ResNets
    that is their residual MLP on tables, and ``image_seconds_per_unit`` is per image x pixel value
    (height x width x 3) at the default base_width, one thread (resnet18: 48 CPU s an epoch of
    1,600 64x64 images, ``benchmarks/bench_training_images.py``). ``epochs``: the epochs a run of
    these (normalized) hyperparameters plans."""

    name: str
    description: str
    tasks: tuple[Task, ...]
    time_series_only: bool
    params: Mapping[str, Param]
    seconds_per_unit: float
    trainer: Trainer
    loader: Callable[[Path], Predictor]
    epochs: Callable[[Mapping[str, Any]], int]
    inputs: tuple[Literal["table", "image"], ...] = ("table",)  # the datasets it trains on
    image_seconds_per_unit: float = 0.0
    gpu: bool = True  # trains on CUDA when there is one (else the CPU, whatever the machine has)

    def describe(self) -> dict[str, Any]:
        """JSON-ready, for an API listing the model types."""
        return {
            "model_type": self.name,
            "description": self.description,
            "tasks": list(self.tasks),
            "time_series_only": self.time_series_only,
            "inputs": list(self.inputs),
            "hyperparameters": {k: p.describe() for k, p in self.params.items()},
        }


def _rounds(per_epoch_key: str) -> Callable[[Mapping[str, Any]], int]:
    return lambda hp: math.ceil(int(hp["n_estimators"]) / int(hp[per_epoch_key]))


def _epochs(hp: Mapping[str, Any]) -> int:
    return int(hp["epochs"])


MODEL_TYPES: dict[str, ModelSpec] = {
    "lightgbm": ModelSpec(
        "lightgbm",
        "LightGBM gradient-boosted trees; an epoch is rounds_per_epoch boosting rounds",
        ("classification", "regression"),
        False,
        params.PARAMS["lightgbm"],
        # 1.2e-7 quiet with per-epoch predictions; their LightGBM-side metrics cost 0.65x the CPU
        8e-8,
        train_lightgbm,
        load_lightgbm,
        _rounds("rounds_per_epoch"),
        gpu=False,
    ),
    "xgboost": ModelSpec(
        "xgboost",
        "XGBoost gradient-boosted trees; an epoch is rounds_per_epoch boosting rounds",
        ("classification", "regression"),
        False,
        params.PARAMS["xgboost"],
        1.0e-7,
        train_xgboost,
        load_xgboost,
        _rounds("rounds_per_epoch"),
    ),
    "random_forest": ModelSpec(
        "random_forest",
        "scikit-learn random forest; an epoch adds trees_per_epoch trees",
        ("classification", "regression"),
        False,
        params.PARAMS["random_forest"],
        3.2e-6,
        train_forest,
        load_forest,
        _rounds("trees_per_epoch"),
        gpu=False,
    ),
    "logistic": ModelSpec(
        "logistic",
        "logistic regression (softmax over a linear layer, PyTorch)",
        ("classification",),
        False,
        params.PARAMS["logistic"],
        1.7e-6,
        train_logistic,
        load_torch,
        _epochs,
    ),
    "linear": ModelSpec(
        "linear",
        "linear regression fitted by gradient descent (PyTorch)",
        ("regression",),
        False,
        params.PARAMS["linear"],
        2.7e-6,
        train_linear,
        load_torch,
        _epochs,
    ),
    "mlp": ModelSpec(
        "mlp",
        "feed-forward network with hidden_layers of ReLU units (PyTorch)",
        ("classification", "regression"),
        False,
        params.PARAMS["mlp"],
        6e-7,
        train_mlp,
        load_torch,
        _epochs,
    ),
    "lstm": ModelSpec(
        "lstm",
        "LSTM over windows of sequence_length rows of a time series (PyTorch)",
        ("classification", "regression"),
        True,
        params.PARAMS["lstm"],
        2.0e-6,
        train_lstm,
        load_torch,
        _epochs,
    ),
    "gru": ModelSpec(
        "gru",
        "GRU over windows of sequence_length rows of a time series (PyTorch)",
        ("classification", "regression"),
        True,
        params.PARAMS["gru"],
        3.9e-6,
        train_gru,
        load_torch,
        _epochs,
    ),
    **{
        f"resnet{depth}": ModelSpec(
            f"resnet{depth}",
            f"ResNet-{depth} ({blocks} blocks) convolutional network trained from scratch on images; on a "
            f"table (classification or regression) a residual MLP of {residual} pre-activation blocks "
            "(BatchNorm, Linear, ReLU, Dropout; Gorishniy et al. 2021, 'Revisiting Deep Learning Models "
            "for Tabular Data') base_width units wide",
            ("classification", "regression"),
            False,
            params.PARAMS[f"resnet{depth}"],
            table_cost,
            _deferred("images", "ResNetTrainer", depth),
            load_resnet,
            _epochs,
            inputs=("table", "image"),
            image_seconds_per_unit=image_cost,
        )
        for depth, blocks, residual, table_cost, image_cost in (
            (18, "basic", 8, 3.8e-6, 2.5e-6),
            (34, "basic", 16, 7.1e-6, 5e-6),  # 16 blocks, as resnet50 on tables: its measured cost
            (50, "bottleneck", 16, 7.1e-6, 6e-6),
        )
    },
}


def known_model_types() -> list[str]:
    return sorted(MODEL_TYPES)


def _spec(name: str) -> ModelSpec:
    spec = MODEL_TYPES.get(name)
    if spec is None:
        raise InvalidRequestError(
            f"unknown model_type {name!r}; known model types: {', '.join(known_model_types())}"
        )
    return spec


def check_model_type(name: str, task: Task, time_series: bool, *, images: bool = False) -> ModelSpec:
    """The model type's spec, if it trains ``task`` on a dataset that is (or is not) a time series,
    of images (an ``image`` dataset) or of table rows.

    Raises ``InvalidRequestError`` naming the known (or the fitting) model types."""
    spec = _spec(name)
    inputs = "image" if images else "table"
    fitting = [
        n
        for n, s in sorted(MODEL_TYPES.items())
        if task in s.tasks and (time_series or not s.time_series_only) and inputs in s.inputs
    ]
    if inputs not in spec.inputs:
        what = "image datasets" if spec.inputs == ("image",) else "tables"
        raise InvalidRequestError(
            f"model_type {name!r} trains on {what}; model types for this dataset: {', '.join(fitting)}"
        )
    if task not in spec.tasks:
        raise InvalidRequestError(
            f"model_type {name!r} does not train {task}; model types for {task}: {', '.join(fitting)}"
        )
    if spec.time_series_only and not time_series:
        raise InvalidRequestError(
            f"model_type {name!r} trains on time series (ohlcv datasets, or tables with a date column); "
            f"model types for this dataset: {', '.join(fitting)}"
        )
    return spec


def validate_hyperparameters(
    model_type: str, hyperparameters: Mapping[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """The hyperparameters with the model type's defaults filled in, and every broken rule as a
    ``FieldError`` (field ``hyperparameters.<key>``). Raises ``InvalidRequestError`` for an unknown
    model type."""
    return params.validate(_spec(model_type).name, hyperparameters)


def planned_epochs(model_type: str, hyperparameters: Mapping[str, Any]) -> int:
    """The epochs a run plans (boosting and forests: rounds or trees over the per-epoch count)."""
    return _spec(model_type).epochs(params.normalized(model_type, hyperparameters))


def estimate_seconds(model_type: str, rows: int, features: int, epochs: int, *, images: bool = False) -> int:
    """A rough duration of a training run on the CPU, its registration included, for the API's
    ``estimated_time`` (``features``: pixel values per image for image datasets)."""
    spec = _spec(model_type)
    work = max(rows, 1) * max(features, 1) * max(epochs, 1)
    cost = spec.image_seconds_per_unit if images else spec.seconds_per_unit
    register = _REGISTER_SECONDS + _REGISTER_SECONDS_PER_ROW * max(rows, 1)
    return max(1, math.ceil(_STARTUP_SECONDS + cost * work + register))


def load_predictor(model_type: str, folder: Path) -> Predictor:
    """The predictor a ``model_type`` trainer saved into ``folder`` (``Predictor.save``)."""
    return _spec(model_type).loader(folder)


def check_validation_split(value: Any) -> list[FieldError]:
    """``validation_split`` must be a number in (0, 0.9]."""
    ok = not isinstance(value, bool) and isinstance(value, int | float) and 0 < value <= MAX_VALIDATION_SPLIT
    if ok:
        return []
    return [FieldError("validation_split", f"must be a number in (0, {MAX_VALIDATION_SPLIT:g}]")]


def validate_early_stopping(
    raw: Mapping[str, Any] | None, task: Task
) -> tuple[EarlyStopping, list[FieldError]]:
    """The request's ``early_stopping`` object (absent: off): ``enabled`` a boolean (true when the
    object leaves it out), ``patience``
    an integer in [1, 1000] (epochs without improvement), ``monitor`` one of the ``task``'s metrics.
    Unknown keys are errors. Field names are ``early_stopping.<key>``."""
    if raw is None:
        return EarlyStopping(), []
    if not isinstance(raw, Mapping):
        return EarlyStopping(), [FieldError("early_stopping", "must be an object")]
    defaults = EarlyStopping()
    errors = [
        FieldError(f"early_stopping.{k}", "unknown key; accepted: enabled, monitor, patience")
        for k in raw
        if k not in ("enabled", "patience", "monitor")
    ]
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.append(FieldError("early_stopping.enabled", "must be true or false"))
    patience = raw.get("patience", defaults.patience)
    if isinstance(patience, float) and patience.is_integer():
        patience = int(patience)
    if isinstance(patience, bool) or not isinstance(patience, int) or not 1 <= patience <= MAX_PATIENCE:
        errors.append(FieldError("early_stopping.patience", f"must be an integer in [1, {MAX_PATIENCE}]"))
    monitor = raw.get("monitor", defaults.monitor)
    names = metric_names(task)
    if monitor not in names:
        errors.append(FieldError("early_stopping.monitor", f"must be one of: {', '.join(names)}"))
    if errors:
        return defaults, errors
    return EarlyStopping(enabled=enabled, patience=patience, monitor=monitor), []
