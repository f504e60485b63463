"""Answers of the training platform's routes (/training, /models)."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from serving.responses import Num, Shape

__all__ = [
    "ModelDetail", "ModelList", "ModelRow", "Prediction", "Predictions", "TrainingResults",
    "TrainingStarted", "TrainingStatus", "TrainingStopped",
]  # fmt: skip


class TrainingStarted(Shape):
    job_id: str
    status: str
    created_at: str
    estimated_time: int  # seconds


class TrainingStatus(Shape):
    job_id: str
    status: str  # queued, running, completed, failed or stopped
    progress: float
    current_epoch: int
    total_epochs: int | None
    metrics: dict[str, Num]
    model_type: str | None
    dataset_id: str | None
    created_at: str | None
    started_at: str | None
    elapsed_time: int | None
    queue_position: int | None
    error: str | UnsetType = UNSET  # when it failed
    model_id: str | UnsetType | None = UNSET  # once completed


class TrainingResults(Shape):
    job_id: str
    status: str
    model_id: str | None
    final_metrics: dict[str, Num]
    performance: dict[str, Num]
    training_history: dict[str, list[Num]]
    best_epoch: int
    stopped_epoch: int | None
    epochs_run: int | None
    duration: int | None
    completed_at: str | None


class TrainingStopped(Shape):
    job_id: str
    status: str
    message: str


class ModelRow(Shape):
    id: str
    name: str
    model_type: str
    task: str
    accuracy: Num
    created_at: str
    size_mb: float


class ModelList(Shape):
    total: int
    page: int
    limit: int
    models: list[ModelRow]


class ModelDetail(ModelRow, kw_only=True):
    architecture: dict[str, Any]
    performance: dict[str, Num]
    training_config: dict[str, Any]
    dataset_id: str
    job_id: str
    classes: list[str]
    feature_names: list[str]
    registered_model: str
    version: str


class Prediction(Shape, omit_defaults=True):
    label: str | UnsetType = msgspec.field(default=UNSET, name="class")  # classifiers
    confidence: float | UnsetType = UNSET  # classifiers: the predicted class's probability, in [0, 1]
    value: float | UnsetType = UNSET  # regressors


class Predictions(Shape):
    model_id: str
    predictions: list[Prediction]
