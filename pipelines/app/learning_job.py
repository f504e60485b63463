"""The training platform's job (``dl_training``): train a model type on an uploaded dataset in a
worker process, report each epoch, then register the model in MLflow and index it.

Per epoch the job reports progress (the share of planned epochs run, never going backwards) with a
structured detail: the epoch, the planned total, that epoch's metrics and the history so far. The
scheduler stores the latest detail on the job row (``GET /training/status`` reads it) and publishes
it with the task event (the task-event stream and the ``training.*`` webhooks). A stopped job's
worker ends before anything is registered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipelines.app.learning_register import register_trained
from pipelines.datasets.files import DatasetFiles
from pipelines.errors import InvalidFieldsError, InvalidRequestError
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.learning.base import EarlyStopping, FieldError, TrainData
from pipelines.learning.data import dataset_task, train_data
from pipelines.learning.image_data import image_train_data
from pipelines.learning.registry import (
    MODEL_TYPES,
    check_model_type,
    check_validation_split,
    validate_early_stopping,
    validate_hyperparameters,
)
from pipelines.models.device import resolve_device
from pipelines.settings import Settings

__all__ = ["DL_TRAINING_JOB", "EpochProgress", "check_training_params", "dl_training_task", "is_time_series"]

DL_TRAINING_JOB = "dl_training"
_KEYS = {
    "dataset_id",
    "dataset_name",
    "dataset_type",
    "model_type",
    "task",
    "hyperparameters",
    "validation_split",
    "early_stopping",
    "metadata",
    "seed",
}


def _field_errors(errors: list[FieldError]) -> InvalidFieldsError:
    return InvalidFieldsError([e.as_dict() for e in errors])


def check_training_params(
    params: Mapping[str, Any], metadata: Mapping[str, Any], dataset_type: str
) -> dict[str, Any]:
    """The request's model type (known, and fit for the dataset's task), hyperparameters
    (normalized), validation split and early stopping; InvalidRequestError for an unknown or unfit
    model type (naming the known or fitting ones), else InvalidFieldsError naming every rejected field."""
    model_type = str(params.get("model_type") or "")
    raw = params.get("hyperparameters") or {}
    if not isinstance(raw, Mapping):
        raise _field_errors([FieldError("hyperparameters", "must be an object")])
    hyperparameters, errors = validate_hyperparameters(model_type, raw)  # an unknown type raises
    task = dataset_task(metadata, dataset_type)
    images = dataset_type == "image"
    check_model_type(model_type, task, is_time_series(metadata, dataset_type), images=images)
    split = params.get("validation_split", 0.2)
    errors = [*errors, *_input_kind_errors(hyperparameters, images), *check_validation_split(split)]
    stopping, more = validate_early_stopping(params.get("early_stopping"), task)
    if errors or more:
        raise _field_errors([*errors, *more])
    return {
        "model_type": model_type,
        "task": task,
        "hyperparameters": hyperparameters,
        "validation_split": float(split),
        "early_stopping": {
            "enabled": stopping.enabled,
            "patience": stopping.patience,
            "monitor": stopping.monitor,
        },
    }


def is_time_series(metadata: Mapping[str, Any], dataset_type: str) -> bool:
    """Bars, or a table with a date column: a datetime column, or a text column that reads as dates
    throughout (``date_columns``, put into the metadata by ``TrainingService`` from the stored table)."""
    column_types = metadata.get("column_types") or {}
    return (
        dataset_type == "ohlcv" or "datetime" in column_types.values() or bool(metadata.get("date_columns"))
    )


def _input_kind_errors(hyperparameters: Mapping[str, Any], images: bool) -> list[FieldError]:
    """The ResNets' settings of one input kind set on the other (flips of a table, dropout of images)."""
    if hyperparameters.get("augment", "none") != "none" and not images:
        return [FieldError("hyperparameters.augment", "flips images; this dataset is a table (use none)")]
    if hyperparameters.get("dropout") and images and "augment" in hyperparameters:
        return [FieldError("hyperparameters.dropout", "applies to tables; the image ResNet has no dropout")]
    return []


def _validate(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    unknown, missing = sorted(set(params) - _KEYS), sorted(_KEYS - set(params))
    if unknown or missing:
        raise InvalidRequestError(
            f"dl_training job parameters: unknown {unknown or 'none'}, missing {missing or 'none'}"
        )
    files, dataset_id = DatasetFiles(settings.datasets_dir), str(params["dataset_id"])
    stored = (
        files.images_path(dataset_id) if params["dataset_type"] == "image" else files.data_path(dataset_id)
    )
    if not stored.is_file():
        raise InvalidRequestError(f"dataset {params['dataset_id']} has no stored data to train on")
    return {**params, **check_training_params(params, params["metadata"], str(params["dataset_type"]))}


def _ram_gb(params: dict[str, Any]) -> float:
    """The worker (numpy, torch, the libraries) plus the data: a table about four times over (frame,
    arrays, splits), images as float32 once (their uint8 file is memory-mapped)."""
    metadata = params.get("metadata") or {}
    rows = int(metadata.get("rows") or 0)
    shape = metadata.get("image_shape")
    if isinstance(shape, list) and shape:
        return 2.0 + 4 * rows * math.prod(int(n) for n in shape) / 1e9
    return 1.5 + 4 * 8 * rows * int(metadata.get("columns") or 1) / 1e9


def _train_data(files: DatasetFiles, params: dict[str, Any]) -> TrainData:
    """The dataset's rows (a table, bars or images) split for training."""
    dataset_id, seed, split = str(params["dataset_id"]), int(params["seed"]), params["validation_split"]
    if params["dataset_type"] == "image":
        return image_train_data(files, dataset_id, validation_split=split, seed=seed)
    frame = pd.read_parquet(files.data_path(dataset_id))
    return train_data(frame, params["metadata"], split, seed=seed, dataset_type=str(params["dataset_type"]))


class EpochProgress:
    """The ``on_epoch`` callback of a trainer: reports each epoch to the job, progress monotonic."""

    def __init__(self, progress: ProgressReporter, label: str) -> None:
        self._progress = progress
        self._label = label
        self.history: dict[str, list[float]] = {}
        self.percent = 0.0

    def __call__(self, epoch: int, total: int, metrics: Mapping[str, float]) -> None:
        for name, value in metrics.items():
            self.history.setdefault(name, []).append(float(value))
        self.percent = max(self.percent, min(99.0, 100.0 * epoch / max(total, 1)))
        detail = {
            "current_epoch": epoch,
            "total_epochs": total,
            "metrics": {k: float(v) for k, v in metrics.items()},
            "history": self.history,
        }
        self._progress.update(self.percent, f"Training {self._label}: epoch {epoch}/{total}", detail)


@register_task(
    DL_TRAINING_JOB,
    cpu_cores=1.0,
    ram_gb=1.0,
    validate=_validate,
    estimate_ram=_ram_gb,
    describe=lambda p: f"Training {p.get('model_type')} on dataset {p.get('dataset_name')}...",
)
def dl_training_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    settings = progress.settings
    label = f"{params['model_type']} on {params['dataset_name']}"
    started = time.monotonic()
    progress.update(0.0, f"Training {label}: reading the dataset...")
    data = _train_data(DatasetFiles(settings.datasets_dir), params)
    stopping = EarlyStopping(**params["early_stopping"])
    on_epoch = EpochProgress(progress, label)
    spec = MODEL_TYPES[str(params["model_type"])]
    # The device the model trains on, recorded with it: probing CUDA (importing torch, a second) only
    # for the model types that can use it.
    device = resolve_device("auto").device if spec.gpu else "cpu"
    fitted = spec.trainer(data, params["hyperparameters"], stopping, on_epoch, device=device)
    seconds = time.monotonic() - started
    progress.update(99.0, f"Training {label}: registering the model...")
    return register_trained(settings, progress.job_id, params, data, fitted, seconds=seconds, device=device)
