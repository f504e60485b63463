"""Forecasts and forecaster trainings on the resource-aware job queue: train at once when the queue
would start such a job now, else queue it (``POST /api/models/train``); the ``prediction`` job kind
(``POST /api/predictions/generate``) and a user's prediction records, which are those jobs.

Work run at once on the caller's thread asks the queue first (``JobQueue.admission``), so it starts
only when a queued job of the same kind would; training holds the model's training claim and obeys
the model ownership rule of every training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pipelines.app.forecast import ForecastQuery, bot_symbol, forecast
from pipelines.app.train import TrainQuery, run_training
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.db import TrainingGuard, open_database
from pipelines.errors import (
    AuthenticationError,
    BusyError,
    DataNotFoundError,
    InvalidRequestError,
    PermissionDeniedError,
)
from pipelines.jobs import JobInfo, JobQueue, ProgressReporter, register_task
from pipelines.models.ownership import Actor, ModelOwners, job_actor
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.prediction import Predictor

__all__ = [
    "PREDICTION_KIND",
    "prediction_record",
    "prediction_records",
    "prediction_task",
    "submit_prediction",
    "sync_trainer",
    "train_or_queue",
]

PREDICTION_KIND = "prediction"
_PREDICTION_KEYS = ("symbol", "timeframe", "auto_train")
_STEP_PERCENT = {"check": 5.0, "fetch": 15.0, "train": 30.0, "predict": 85.0}


def _job_params(query: TrainQuery) -> dict[str, Any]:
    return {k: v for k, v in asdict(query).items() if v is not None}


def train_or_queue(
    predictor: Predictor,
    jobs: JobQueue,
    guard: TrainingGuard,
    owners: ModelOwners,
    actor: Actor,
    query: TrainQuery,
) -> dict[str, Any]:
    """Train ``query`` now when the queue would start a training job at once, else queue one: the
    queued answer (``status``, ``task_id``, ``queue_position``, ``reason``, ``message``), or
    ``{"status": "trained", "model_name"}``. ``actor`` must own the model (or be an admin)."""
    name = str(query.model_name)
    params = _job_params(query)
    reason = jobs.admission("training", params)
    with owners.training(name, actor):  # the queued job checks ownership again when it runs
        if reason is not None:
            info = jobs.submit("training", params, actor.user_id)
            where = f"Position in queue: {info.queue_position}" if info.status == "queued" else "Started"
            return {
                "status": info.status,
                "task_id": info.id,
                "queue_position": info.queue_position,
                "reason": info.reason or reason,
                "message": f"Model training queued due to insufficient resources. {where}",
            }
        with guard.hold(name):
            run_training(predictor.settings, predictor.registry.tracker, predictor.registry, query)
    predictor.reload(name)
    return {"status": "trained", "model_name": name}


def sync_trainer(
    predictor: Predictor,
    jobs: JobQueue,
    guard: TrainingGuard,
    owners: ModelOwners,
    actor: Actor | None,
) -> Callable[[TrainQuery], None]:
    """How a forecast asked for on a request trains: only for a signed-in caller who may train the
    model, only when the queue would start a training job now (else BusyError with its reason),
    under the model's training claim."""

    def train(query: TrainQuery) -> None:
        name = str(query.model_name)
        if actor is None:
            raise AuthenticationError(
                f"{name} must be trained first and training needs a signed-in caller: send "
                "'Authorization: Bearer <access token>' or 'X-API-Key: <key>'"
            )
        reason = jobs.admission("training", _job_params(query))
        if reason is not None:
            raise BusyError(f"{name} must be trained first but resources are short: {reason}")
        with guard.hold(name):
            run_training(
                predictor.settings,
                predictor.registry.tracker,
                predictor.registry,
                query,
                owners=owners,
                actor=actor,
            )

    return train


# -- the ``prediction`` job kind -----------------------------------------------------------------------
def _validate_prediction(params: dict[str, Any], settings: Any) -> dict[str, Any]:
    unknown = sorted(set(params) - set(_PREDICTION_KEYS))
    if unknown:
        raise InvalidRequestError(
            f"unknown parameter(s): {', '.join(unknown)}; expected: {', '.join(_PREDICTION_KEYS)}"
        )
    auto_train = params.get("auto_train", True)
    if not isinstance(auto_train, bool):
        raise InvalidRequestError(f"auto_train must be true or false, got {auto_train!r}")
    sym = parse_symbol(str(params.get("symbol") or ""))
    return {
        "symbol": bot_symbol(sym),
        "timeframe": parse_timeframe(str(params.get("timeframe") or "")).name,
        "auto_train": auto_train,
    }


@register_task(
    PREDICTION_KIND,
    cpu_cores=1.0,
    ram_gb=2.0,
    validate=_validate_prediction,
    describe=lambda p: f"Generating predictions for {p.get('symbol')} {p.get('timeframe')}...",
)
def prediction_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """A forecast in a worker: training (when needed) runs here, inside the job's admitted resources,
    for the user who queued it, checked again with their role of now."""
    settings = progress.settings
    tracker = open_tracker(settings)
    predictor = Predictor(settings, ModelRegistry(tracker, settings.models_cache_dir))
    database = open_database(settings)
    try:
        actor = job_actor(database, progress.job_id)
        owners = ModelOwners(database, tracker)

        def train(query: TrainQuery) -> None:
            with TrainingGuard(database).hold(str(query.model_name)):
                run_training(settings, tracker, predictor.registry, query, owners=owners, actor=actor)

        def report(step: str, title: str, message: str) -> None:
            progress.update(_STEP_PERCENT.get(step), message)

        query = ForecastQuery(params["symbol"], params["timeframe"], params.get("auto_train", True))
        return forecast(predictor, query, train, progress=report)
    finally:
        database.close()


def submit_prediction(jobs: JobQueue, query: ForecastQuery, user_id: str) -> dict[str, Any]:
    """Queue a forecast for ``user_id``: ``status`` (queued or running), ``prediction_id`` and, when
    it waits, ``task_id``, ``queue_position`` and ``reason``."""
    params = {"symbol": query.symbol, "timeframe": query.timeframe, "auto_train": query.auto_train}
    info = jobs.submit(PREDICTION_KIND, params, user_id)
    where = f"/api/predictions/{info.id}"
    if info.status != "queued":
        return {
            "status": "running",
            "prediction_id": info.id,
            "message": f"Prediction started. Check status at {where}",
        }
    return {
        "status": "queued",
        "prediction_id": info.id,
        "task_id": info.id,
        "queue_position": info.queue_position,
        "reason": info.reason,
        "message": f"Prediction queued. Position in queue: {info.queue_position}. Check status at {where}",
    }


@dataclass(frozen=True, slots=True)
class _Own:
    """A requester who sees only their own jobs (admins included: these are their predictions)."""

    id: str
    is_admin: bool = False


def _record(info: JobInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "symbol": info.params.get("symbol"),
        "timeframe": info.params.get("timeframe"),
        "status": info.status,
        "created_at": info.as_dict()["created_at"],
    }


def prediction_records(jobs: JobQueue, user_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The user's predictions, newest first: id, symbol, timeframe, status, created_at."""
    return [_record(i) for i in jobs.list_jobs(_Own(user_id), kind=PREDICTION_KIND, limit=limit)]


def prediction_record(jobs: JobQueue, prediction_id: str, user_id: str) -> dict[str, Any]:
    """The user's prediction: the forecast once completed, with ``prediction_id`` and ``status``.
    Another user's is the same DataNotFoundError as an unknown id (nothing tells them apart)."""
    missing = DataNotFoundError(f"no prediction with id {prediction_id!r}")
    try:
        info = jobs.get(prediction_id, _Own(user_id))
    except (DataNotFoundError, PermissionDeniedError):
        raise missing from None
    if info.kind != PREDICTION_KIND:
        raise missing
    head = {"prediction_id": info.id, **_record(info)}
    del head["id"]
    if info.status == "completed" and info.result is not None:
        return {**info.result, **head}
    messages = {
        "queued": f"Prediction queued. Position in queue: {info.queue_position}",
        "running": "Prediction running",
        "failed": f"Prediction failed: {info.error}",
        "cancelled": "Prediction cancelled",
    }
    return {**head, "message": messages.get(info.status, info.status), "error": info.error}
