"""The training platform's jobs (``/training``): start one on a ready dataset, follow it, read its
results, stop it; and the ``training.*`` webhook payloads of its events.

A training is a ``dl_training`` job of the durable queue (``pipelines.app.learning_job``). Another
user's job reads as not found. A user has at most ``max_training_jobs_per_user`` trainings queued or
running; the next is refused (429) and nothing is queued.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from pipelines.app.datasets import DatasetCatalog
from pipelines.app.learning_job import DL_TRAINING_JOB, check_training_params, is_time_series
from pipelines.datasets.files import DatasetFiles
from pipelines.db.engine import Database
from pipelines.db.job_models import Job
from pipelines.db.types import isoformat_utc, utc_now
from pipelines.errors import (
    ConflictError,
    DataNotFoundError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
)
from pipelines.jobs.queue import JobQueue
from pipelines.jobs.records import JobInfo, Requester
from pipelines.learning.data import date_columns
from pipelines.learning.registry import MODEL_TYPES, estimate_seconds, known_model_types, planned_epochs
from pipelines.settings import Settings

__all__ = ["START_FIELDS", "TrainingService"]

_FINISHED_KEPT = 10_000  # ended jobs remembered so a late progress event sends no webhook

START_FIELDS = ("dataset_id", "model_type", "hyperparameters", "validation_split", "early_stopping")
_STATUS = {"cancelled": "stopped"}
_SEED = 42


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else isoformat_utc(value)


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None:
        return None
    return max(0, round(((end or utc_now()) - start).total_seconds()))


def _planned(params: Mapping[str, Any]) -> int | None:
    """The epochs a queued job's run plans (before its first epoch reports them)."""
    try:
        return planned_epochs(str(params["model_type"]), params["hyperparameters"])
    except Exception:  # a job of a model type this server no longer knows
        return None


class TrainingService:
    """Starts, reads and stops a user's training jobs; ``webhook`` turns their events into payloads."""

    def __init__(self, settings: Settings, database: Database, jobs: JobQueue, datasets: DatasetCatalog):
        self.settings = settings
        self.database = database
        self.jobs = jobs
        self.datasets = datasets
        self._lock = threading.Lock()
        self._progress_steps: dict[str, int] = {}
        # Jobs whose end was announced: a progress event read after it sends no webhook (bounded).
        self._finished: dict[str, None] = {}

    # -- requests ----------------------------------------------------------------------------------
    def start(self, user: Requester, body: Mapping[str, Any]) -> dict[str, Any]:
        """Check everything, then queue: 400 for bad fields, 404 for a dataset not the user's, 409
        while it is processing, 429 past the per-user limit."""
        unknown = sorted(set(body) - set(START_FIELDS))
        if unknown:
            raise InvalidRequestError(f"unknown fields {unknown}; the fields are: {', '.join(START_FIELDS)}")
        dataset_id = body.get("dataset_id")
        if not isinstance(dataset_id, str) or not dataset_id:
            raise InvalidRequestError("dataset_id is required: the id of one of your ready datasets")
        model_type = str(body.get("model_type") or "")
        if model_type not in MODEL_TYPES:
            known = ", ".join(known_model_types())
            raise InvalidRequestError(f"unknown model_type {model_type!r}; known model types: {known}")
        metadata, name, dataset_type = self._ready_dataset(dataset_id, user)
        if MODEL_TYPES[model_type].time_series_only and not is_time_series(metadata, dataset_type):
            metadata["date_columns"] = self._text_dates(dataset_id, metadata, dataset_type)
        checked = check_training_params(body, metadata, dataset_type)
        params = {
            **checked,
            "dataset_id": dataset_id,
            "dataset_name": name,
            "dataset_type": dataset_type,
            "metadata": metadata,
            "seed": _SEED,
        }
        limit = self.settings.learning.max_training_jobs_per_user
        with self._lock:  # the count and the submission together: no two requests both pass
            if self._active(user.id) >= limit:
                raise RateLimitedError(
                    f"you already have {limit} training jobs queued or running (the most one user may "
                    "have); wait for one to finish or stop one"
                )
            job = self.jobs.submit(DL_TRAINING_JOB, params, owner=user.id)
        rows = int(metadata.get("rows") or 0)
        columns = len(metadata.get("features") or []) or math.prod(metadata.get("image_shape") or [1])
        epochs = planned_epochs(model_type, checked["hyperparameters"])
        estimate = estimate_seconds(model_type, rows, columns, epochs, images=dataset_type == "image")
        return {
            "job_id": job.id,
            "status": "queued",
            "created_at": isoformat_utc(job.created_at),
            "estimated_time": max(1, round(estimate)),
        }

    def status(self, job_id: str, user: Requester) -> dict[str, Any]:
        job = self._job(job_id, user)
        detail = job.detail or {}
        out: dict[str, Any] = {
            "job_id": job.id,
            "status": _STATUS.get(job.status, job.status),
            "progress": round(job.progress, 1),
            "current_epoch": detail.get("current_epoch", 0),
            "total_epochs": detail.get("total_epochs", _planned(job.params)),
            "metrics": detail.get("metrics", {}),
            "model_type": job.params.get("model_type"),
            "dataset_id": job.params.get("dataset_id"),
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "elapsed_time": _seconds(job.started_at, job.finished_at),
            "queue_position": job.queue_position,
        }
        if job.error is not None and job.status == "failed":
            out["error"] = job.error
        if job.result is not None:
            out["model_id"] = job.result.get("model_id")
        return out

    def results(self, job_id: str, user: Requester) -> dict[str, Any]:
        job = self._job(job_id, user)
        if job.status != "completed" or job.result is None:
            state = _STATUS.get(job.status, job.status)
            why = f": {job.error}" if job.status == "failed" and job.error else ""
            raise ConflictError(f"training job {job_id} is {state}{why}; results exist once it has completed")
        result = job.result
        history: dict[str, list[float]] = result.get("training_history") or {}
        best = int(result.get("best_epoch") or 0)
        final = {
            (name if name.startswith("val_") else f"train_{name}"): values[min(best, len(values)) - 1]
            for name, values in history.items()
            if values and best
        }
        return {
            "job_id": job.id,
            "status": "completed",
            "model_id": result.get("model_id"),
            "final_metrics": final,
            "performance": result.get("performance", {}),
            "training_history": history,
            "best_epoch": best,
            "stopped_epoch": result.get("stopped_epoch"),
            "epochs_run": result.get("epochs_run"),
            "duration": _seconds(job.started_at, job.finished_at),
            "completed_at": _iso(job.finished_at),
        }

    def stop(self, job_id: str, user: Requester) -> dict[str, Any]:
        """Stop a queued or running training now (its worker ends; nothing is registered)."""
        job = self._job(job_id, user)
        if job.is_terminal:
            raise ConflictError(f"training job {job_id} is already {_STATUS.get(job.status, job.status)}")
        self.jobs.cancel(job_id, user)
        return {"job_id": job_id, "status": "stopped", "message": "Training job stopped successfully"}

    # -- webhooks ----------------------------------------------------------------------------------
    def webhook(self, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """The ``training.*`` webhook (name, payload) of a ``dl_training`` job event, or None:
        started, progress each time it passes another 10%, completed, failed."""
        data = event["data"]
        job_id = str(data.get("task_id"))
        if event["type"] == "task_running":
            return "training.started", {"job_id": job_id, "status": "running"}
        if event["type"] == "task_description_update":
            return self._progress_webhook(job_id, data)
        if event["type"] != "task_completed":
            return None
        with self._lock:
            self._progress_steps.pop(job_id, None)
            self._finished[job_id] = None
            if len(self._finished) > _FINISHED_KEPT:
                del self._finished[next(iter(self._finished))]
        if data.get("status") == "completed":
            result = data.get("result") or {}
            accuracy = (result.get("performance") or {}).get("accuracy")
            payload = {"job_id": job_id, "model_id": result.get("model_id"), "accuracy": accuracy}
            return "training.completed", {**payload, "performance": result.get("performance", {})}
        if data.get("status") == "failed":
            return "training.failed", {"job_id": job_id, "error": data.get("error")}
        return None

    def _progress_webhook(self, job_id: str, data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        step = int(float(data.get("progress") or 0.0) // 10)
        with self._lock:
            if job_id in self._finished or step <= self._progress_steps.get(job_id, 0):
                return None
            self._progress_steps[job_id] = step
        detail = data.get("detail") or {}
        payload = {
            "job_id": job_id,
            "progress": data.get("progress"),
            "current_epoch": detail.get("current_epoch"),
            "total_epochs": detail.get("total_epochs"),
            "metrics": detail.get("metrics", {}),
        }
        return "training.progress", payload

    # -- helpers -----------------------------------------------------------------------------------
    def _ready_dataset(self, dataset_id: str, user: Requester) -> tuple[dict[str, Any], str, str]:
        try:
            view = self.datasets.get(dataset_id, user)
        except PermissionDeniedError:
            raise DataNotFoundError(f"no dataset with id {dataset_id!r}") from None
        name = view.record.name
        if view.status == "processing":
            raise ConflictError(f"dataset {name!r} is still processing; start training once it is ready")
        if view.status == "failed" or view.metadata is None:
            raise InvalidRequestError(f"dataset {name!r} failed processing ({view.error}); upload it again")
        return dict(view.metadata), name, view.record.dataset_type

    def _text_dates(self, dataset_id: str, metadata: Mapping[str, Any], dataset_type: str) -> list[str]:
        """The stored table's text columns that read as dates throughout (training's rule)."""
        types = metadata.get("column_types") or {}
        text = [c for c, kind in types.items() if kind == "categorical" and c != metadata.get("target")]
        path = DatasetFiles(self.settings.datasets_dir).data_path(dataset_id)
        if dataset_type == "image" or not text or not path.is_file():
            return []
        return date_columns(pd.read_parquet(path, columns=text))

    def _active(self, user_id: str) -> int:
        with self.database.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.user_id == user_id, Job.kind == DL_TRAINING_JOB)
                .where(Job.status.in_(("queued", "running")))
            )
        return int(count or 0)

    def _job(self, job_id: str, user: Requester) -> JobInfo:
        try:
            job = self.jobs.get(job_id, user)
        except PermissionDeniedError:
            job = None
        if job is None or job.kind != DL_TRAINING_JOB:
            raise DataNotFoundError(f"no training job with id {job_id!r}")
        return job
