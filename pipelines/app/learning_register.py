"""Register a trained training-platform model: an MLflow run (dataset, hyperparameters, per-epoch
step metrics, architecture, the model folder with its signature), a registered model owned like
the market models (``pipelines.models.ownership``), and its row in the app database's index.

The registered model's name is ``learning-<model id>``, unique per model; its tag
``tradeforge.platform`` = ``learning`` tells it apart from the market models in the MLflow UI and
keeps it out of their catalogue.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipelines.db import Database, TrainedModel, open_database
from pipelines.errors import DataNotFoundError
from pipelines.learning.base import Fitted, TrainData
from pipelines.learning.metrics import performance
from pipelines.learning.pyfunc import LearnedMeta, save_pyfunc
from pipelines.models.ownership import ModelOwners, job_actor
from pipelines.models.tracking import MlflowTracker, open_tracker
from pipelines.settings import Settings

__all__ = ["EXPERIMENT", "PLATFORM_TAG", "held_out", "register_trained", "registered_name"]

EXPERIMENT = "training-platform"
PLATFORM_TAG = "tradeforge.platform"
_EXAMPLE_ROWS = 5


def registered_name(model_id: str) -> str:
    return f"learning-{model_id}"


def held_out(data: TrainData, fitted: Fitted, sequence_length: int | None = None) -> dict[str, float]:
    """The model's scores on its validation rows (``pipelines.learning.metrics.performance``); a
    sequence model sees the window ending at each row, reaching back into the training rows."""
    x, y = data.x_val, data.y_val
    if sequence_length is None and fitted.val_output is not None:
        return performance(data.task, y, fitted.val_output)
    if sequence_length is not None:
        rows = np.concatenate([data.x_train, data.x_val])
        windows = np.lib.stride_tricks.sliding_window_view(rows, sequence_length, axis=0)
        ends = np.arange(len(data.x_train), len(rows))
        keep = ends >= sequence_length - 1
        x = np.ascontiguousarray(windows[ends[keep] - sequence_length + 1].transpose(0, 2, 1))
        y = y[keep]
    if len(x) == 0:
        return {}
    return performance(data.task, y, np.asarray(fitted.predictor.predict_proba(x)))


def _log_history(tracker: MlflowTracker, run_id: str, history: dict[str, list[float]]) -> None:
    """One MLflow metric per history series, one step per epoch (from 1)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    items = [
        Metric(name, float(value), now, step)
        for name, values in history.items()
        for step, value in enumerate(values, 1)
        if value == value
    ]
    for i in range(0, len(items), 500):
        tracker.client.log_batch(run_id, metrics=items[i : i + 500])


def _sequence_length(params: dict[str, Any], data: TrainData) -> int | None:
    """Rows per input window of a sequence model (a time series trained with ``sequence_length``)."""
    length = params["hyperparameters"].get("sequence_length")
    return int(length) if data.time_series and isinstance(length, int) else None


def _example(data: TrainData, meta: LearnedMeta) -> NDArray[np.float32]:
    """A few model inputs for the MLflow signature: rows, images, or one window of rows."""
    if meta.sequence_length is None:
        return data.x_val[:_EXAMPLE_ROWS]
    rows = np.concatenate([data.x_train, data.x_val])[-meta.sequence_length :]
    return rows[None, ...]


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def register_trained(
    settings: Settings,
    job_id: str,
    params: dict[str, Any],
    data: TrainData,
    fitted: Fitted,
    *,
    seconds: float,
    device: str,
) -> dict[str, Any]:
    """Log, register and index the model of job ``job_id``; the job's result (model id, metrics,
    history, best and stopped epoch)."""
    database = open_database(settings)
    try:
        actor = job_actor(database, job_id)
        if actor is None:
            raise DataNotFoundError(f"job {job_id} has no user to own its model")
        tracker = open_tracker(settings)
        model_id = str(uuid.uuid4())
        name = registered_name(model_id)
        figures = held_out(data, fitted, _sequence_length(params, data))
        with ModelOwners(database, tracker).training(name, actor):
            row = _register(tracker, model_id, name, job_id, params, data, fitted, figures, device)
            row.user_id = actor.user_id
            try:
                _index(database, row)
            except BaseException:  # stopped or failed here: no registered model without its row
                with contextlib.suppress(Exception):
                    tracker.delete_model(name)
                raise
    finally:
        database.close()
    return {
        "model_id": model_id,
        "registered_model": name,
        "version": row.registered_version,
        "run_id": row.run_id,
        "performance": figures,
        "training_history": fitted.history,
        "best_epoch": fitted.best_epoch,
        "stopped_epoch": fitted.stopped_epoch,
        "epochs_run": max((len(v) for v in fitted.history.values()), default=0),
        "seconds": round(seconds, 3),
        "device": device,
    }


def _register(
    tracker: MlflowTracker,
    model_id: str,
    name: str,
    job_id: str,
    params: dict[str, Any],
    data: TrainData,
    fitted: Fitted,
    figures: dict[str, float],
    device: str,
) -> TrainedModel:
    """Long because it is one MLflow run, step by step: parameters, history, figures, model, version."""
    meta = LearnedMeta(
        model_type=str(params["model_type"]),
        task=data.task,
        feature_names=list(data.feature_names),
        input_shape=data.input_shape,
        classes=list(data.classes),
        spec=None if data.spec is None else data.spec.as_dict(),
        sequence_length=_sequence_length(params, data),
    )
    architecture = {
        "input_shape": data.input_shape,
        "output_classes": len(data.classes) if data.task == "classification" else 1,
        "parameters": int(fitted.parameters),
        **fitted.architecture,
    }
    tags = {PLATFORM_TAG: "learning", "tradeforge.kind": meta.model_type, "tradeforge.job_id": job_id}
    with tracker.run(EXPERIMENT, f"{meta.model_type}-{params['dataset_name']}", tags) as run:
        run.log_params(
            {
                "dataset_id": params["dataset_id"],
                "model_type": meta.model_type,
                "validation_split": params["validation_split"],
                "early_stopping": params["early_stopping"],
                "device": device,
                **{f"hp.{k}": v for k, v in params["hyperparameters"].items()},
            }
        )
        _log_history(tracker, run.run_id, fitted.history)
        run.log_metrics({f"final_{k}": v for k, v in figures.items()})
        run.log_metrics({"best_epoch": fitted.best_epoch, "training_rows": len(data.x_train)})
        run.log_dict(architecture, "architecture.json")
        with tempfile.TemporaryDirectory(prefix="tradeforge-learning-") as tmp:
            folder = save_pyfunc(fitted.predictor, meta, Path(tmp) / "model", _example(data, meta))
            size = _folder_bytes(folder)
            source = run.log_model_dir(folder, "model")
        version = tracker.register(name, source, run.run_id, {**tags, "tradeforge.model_id": model_id})
    tracker.set_model_tag(name, PLATFORM_TAG, "learning")
    hp = params["hyperparameters"]
    info = {
        "architecture": architecture,
        "performance": figures,
        "training_config": {
            "dataset_id": params["dataset_id"],
            "epochs": hp.get("epochs", max((len(v) for v in fitted.history.values()), default=0)),
            "batch_size": hp.get("batch_size"),
            "optimizer": hp.get("optimizer"),
            "learning_rate": hp.get("learning_rate"),
            "validation_split": params["validation_split"],
            "best_epoch": fitted.best_epoch,
            "stopped_epoch": fitted.stopped_epoch,
        },
        "classes": list(data.classes),
        "feature_names": list(data.feature_names),
        "input_shape": data.input_shape,
    }
    return TrainedModel(
        id=model_id,
        job_id=job_id,
        dataset_id=str(params["dataset_id"]),
        name=f"{meta.model_type}_{params['dataset_name']}"[:256],
        model_type=meta.model_type,
        task=data.task,
        accuracy=figures.get("accuracy"),
        size_bytes=size,
        registered_name=name,
        registered_version=version,
        run_id=run.run_id,
        source=source,
        info=info,
    )


def _index(database: Database, row: TrainedModel) -> None:
    with database.transaction() as session:
        session.add(row)
