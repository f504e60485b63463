"""Request bodies and examples of the training platform's routes (/training, /models)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.openapi.spec import Example
from litestar.params import Body

from pipelines.learning.registry import MODEL_TYPES
from serving.dto import check_free_form

__all__ = [
    "MODEL",
    "MODELS",
    "PREDICTED",
    "PREDICT_MANY",
    "PREDICT_ONE",
    "RESULTS",
    "START",
    "STARTED",
    "STATUS",
    "STOPPED",
    "PredictBody",
    "PredictRequest",
    "StartBody",
    "StartRequest",
]  # fmt: skip

Json = dict[str, Any]
_JOB = "5b0d3c3e-9a3f-4c1e-8a53-2f0f5f6c1a77"
_MODEL = "0f6d1c62-54a1-4d4b-9c59-7d8b2f8e5a10"
_DATASET = "3f2b8c1e-7d4a-4e9b-a0c5-6e1f2d3c4b5a"
_MODEL_TYPES = "; ".join(f"`{name}`: {spec.description}" for name, spec in sorted(MODEL_TYPES.items()))


class StartBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /training/start``: the model type's hyperparameters are checked by the server, which
    answers 400 with every rejected field in ``details``."""

    dataset_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36, examples=[_DATASET])]
    model_type: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=64,
            examples=["lightgbm"],
            description=f"The model type. {_MODEL_TYPES}. Tree types take `epochs` (x rounds_per_epoch "
            "or trees_per_epoch = n_estimators); network types take optimizer, learning_rate, "
            "batch_size, epochs.",
        ),
    ]
    hyperparameters: dict[str, Any] | None = None
    validation_split: float = 0.2
    early_stopping: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        check_free_form("hyperparameters", self.hyperparameters)
        check_free_form("early_stopping", self.early_stopping)

    def as_request(self) -> Json:
        return {
            "dataset_id": self.dataset_id,
            "model_type": self.model_type,
            "hyperparameters": self.hyperparameters or {},
            "validation_split": self.validation_split,
            "early_stopping": self.early_stopping,
        }


class PredictBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``input`` (one row: numbers, a window of rows for sequence models, or a base64 image) or
    ``inputs`` (a list of them); the server checks each against the model."""

    input: list[Any] | str | None = None
    inputs: list[Any] | None = None

    def __post_init__(self) -> None:
        if (self.input is None) == (self.inputs is None):
            raise ValueError("give exactly one of `input` (one row) and `inputs` (a list of rows)")

    def rows(self) -> list[Any]:
        return [self.input] if self.input is not None else list(self.inputs or [])


START: Json = {
    "dataset_id": _DATASET,
    "model_type": "mlp",
    "hyperparameters": {"learning_rate": 0.001, "batch_size": 32, "epochs": 100, "optimizer": "adam"},
    "validation_split": 0.2,
    "early_stopping": {"enabled": True, "patience": 10, "monitor": "val_loss"},
}
STARTED: Json = {
    "job_id": _JOB,
    "status": "queued",
    "created_at": "2024-01-01T00:00:00Z",
    "estimated_time": 3600,
}
_METRICS = {"loss": 0.234, "accuracy": 0.912, "val_loss": 0.301, "val_accuracy": 0.889}
STATUS: Json = {
    "job_id": _JOB,
    "status": "running",
    "progress": 45.0,
    "current_epoch": 45,
    "total_epochs": 100,
    "metrics": _METRICS,
    "model_type": "mlp",
    "dataset_id": _DATASET,
    "created_at": "2024-01-01T00:00:00Z",
    "started_at": "2024-01-01T00:00:00Z",
    "elapsed_time": 1800,
    "queue_position": None,
}
_PERFORMANCE = {"accuracy": 0.912, "precision": 0.905, "recall": 0.918, "f1_score": 0.911}
RESULTS: Json = {
    "job_id": _JOB,
    "status": "completed",
    "model_id": _MODEL,
    "final_metrics": {"train_loss": 0.123, "train_accuracy": 0.956, "val_loss": 0.234, "val_accuracy": 0.912},
    "performance": _PERFORMANCE,
    "training_history": {
        "loss": [0.9, 0.7, 0.5],
        "accuracy": [0.6, 0.75, 0.85],
        "val_loss": [0.95, 0.8, 0.6],
        "val_accuracy": [0.55, 0.7, 0.82],
    },
    "best_epoch": 3,
    "stopped_epoch": None,
    "epochs_run": 3,
    "duration": 3600,
    "completed_at": "2024-01-01T01:00:00Z",
}
STOPPED: Json = {"job_id": _JOB, "status": "stopped", "message": "Training job stopped successfully"}
_ROW: Json = {
    "id": _MODEL,
    "name": "mlp_My Dataset",
    "model_type": "mlp",
    "task": "classification",
    "accuracy": 0.912,
    "created_at": "2024-01-01T00:00:00Z",
    "size_mb": 0.5,
}
MODELS: Json = {"total": 1, "page": 1, "limit": 10, "models": [_ROW]}
MODEL: Json = {
    **_ROW,
    "architecture": {"input_shape": [4], "output_classes": 2, "parameters": 4610},
    "performance": _PERFORMANCE,
    "training_config": {"dataset_id": _DATASET, "epochs": 100, "batch_size": 32, "optimizer": "adam"},
    "dataset_id": _DATASET,
    "job_id": _JOB,
    "classes": ["cat", "dog"],
    "feature_names": ["f1", "f2", "f3", "f4"],
    "registered_model": f"learning-{_MODEL}",
    "version": "1",
}
PREDICT_ONE: Json = {"input": [0.5, 0.3, 0.2, 0.1]}
PREDICT_MANY: Json = {"inputs": [[0.5, 0.3, 0.2, 0.1], [0.4, 0.2, 0.3, 0.1]]}
PREDICTED: Json = {
    "model_id": _MODEL,
    "predictions": [{"class": "cat", "confidence": 0.892}, {"class": "dog", "confidence": 0.756}],
}


def _body(*examples: tuple[str, Json]) -> Any:
    return Body(examples=[Example(summary=summary, value=value) for summary, value in examples])


StartRequest = Annotated[StartBody, _body(("a model type on a dataset", START))]
PredictRequest = Annotated[PredictBody, _body(("one row", PREDICT_ONE), ("a batch", PREDICT_MANY))]
