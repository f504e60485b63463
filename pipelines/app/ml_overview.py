"""The ML overview use cases: the newest predictions with the indicators they were made on, each
registered model's last evaluation with the prediction log's totals, and retraining a registered
model with the settings of its serving version."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.data.symbols import parse_symbol
from pipelines.db.job_models import Job
from pipelines.db.logs import MAX_RECENT
from pipelines.db.models import PredictionLog
from pipelines.db.types import isoformat_utc
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError, ModelError
from pipelines.models.base import ModelKind
from pipelines.models.params import PARAM_MODELS
from pipelines.models.summaries import ModelSummary, model_status
from pipelines.models.tracking import RegisteredVersion, Tracker

__all__ = [
    "estimated_duration",
    "ml_performance",
    "model_performance",
    "recent_predictions",
    "refuse_duplicate",
    "retrain_params",
    "training_in_flight",
]

_NO_FEATURES: dict[str, float | None] = {"rsi": None, "macd": None, "bollinger_position": None}


def _utc_text(iso: str) -> str:
    return iso.replace("+00:00", "Z")


def estimated_duration(seconds: float | None) -> str | None:
    """``45s``, ``30m``, ``1h 5m``: a training time rounded for people (None when unknown)."""
    if seconds is None:
        return None
    total = max(1, round(seconds))
    if total < 60:
        return f"{total}s"
    hours, minutes = divmod(round(total / 60), 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def _ratio(metrics: dict[str, float], name: str) -> float | None:
    value = metrics.get(name)
    return None if value is None else round(float(value), 6)


def model_performance(summaries: Iterable[ModelSummary], training: frozenset[str]) -> list[dict[str, Any]]:
    """Per registered model, its serving version's validation scores of the direction call."""
    rows = []
    for s in sorted(summaries, key=lambda s: s.name):
        rows.append(
            {
                "name": s.name,
                "type": s.kind,
                "symbol": s.symbol,
                "timeframe": s.timeframe,
                "version": s.champion_version or s.latest_version,
                "accuracy": _ratio(s.metrics, "val_directional_accuracy"),
                "precision": _ratio(s.metrics, "val_precision"),
                "recall": _ratio(s.metrics, "val_recall"),
                "f1_score": _ratio(s.metrics, "val_f1"),
                "last_trained": _utc_text(s.last_trained),
                "training_samples": s.training_samples,
                "training_seconds": s.training_seconds,
                "status": model_status(s, training),
            }
        )
    return rows


def ml_performance(
    session: Session, summaries: Iterable[ModelSummary], training: frozenset[str], user_id: str | None
) -> dict[str, Any]:
    """The models' scores and the prediction log's totals (a user's own, or everyone's when
    ``user_id`` is None). A successful prediction is one served with a finite signal: the log keeps
    served predictions only, not their realized outcome."""
    models = model_performance(summaries, training)
    scored = [m["accuracy"] for m in models if m["accuracy"] is not None]
    query = select(func.count(PredictionLog.id), func.count(PredictionLog.signal))
    if user_id is not None:
        query = query.where(PredictionLog.user_id == user_id)
    total, with_signal = session.execute(query).one()
    return {
        "models": models,
        "overall_performance": {
            "average_accuracy": round(sum(scored) / len(scored), 6) if scored else None,
            "total_predictions": int(total),
            "successful_predictions": int(with_signal),
            "models_evaluated": len(scored),
        },
    }


def recent_predictions(
    session: Session,
    *,
    limit: int,
    user_id: str | None,
    symbol: str | None = None,
    models: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` logged predictions (of ``symbol``, of the model names ``models``), with
    the indicator values of the bar each was made on."""
    if not 1 <= limit <= MAX_RECENT:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_RECENT}, got {limit}")
    query = select(PredictionLog).order_by(PredictionLog.created_at.desc(), PredictionLog.id.desc())
    if user_id is not None:
        query = query.where(PredictionLog.user_id == user_id)
    if symbol is not None:
        query = query.where(PredictionLog.symbol == parse_symbol(symbol).name)
    if models is not None:
        query = query.where(PredictionLog.model_name.in_(list(models)))
    return [_prediction_row(row) for row in session.scalars(query.limit(limit))]


def _prediction_row(row: PredictionLog) -> dict[str, Any]:
    return {
        "id": f"pred_{row.id}",
        "symbol": row.symbol,
        "model_type": row.model_name,
        "model_version": row.model_version or None,
        "timeframe": row.timeframe or None,
        "prediction": row.signal,
        "confidence": row.confidence,
        "predicted_return": row.predicted_return,
        "direction": row.direction or None,
        "recommendation": row.recommendation,
        "current_price": row.current_price,
        "features": {**_NO_FEATURES, **(row.features or {})},
        "timestamp": isoformat_utc(row.created_at),
    }


def training_in_flight(session: Session, model_name: str) -> bool:
    """Whether a training job of ``model_name`` is queued or running."""
    query = select(Job.params).where(Job.kind == "training", Job.status.in_(("queued", "running")))
    return any((params or {}).get("model_name") == model_name for params in session.scalars(query))


def _serving_version(tracker: Tracker, name: str) -> RegisteredVersion:
    version = tracker.alias_version(name, "champion")
    if version is None:
        versions = dict(tracker.list_models()).get(name)
        if not versions:
            raise DataNotFoundError(f"no registered model named {name!r}")
        version = versions[-1]
    return version


def _decoded(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def retrain_params(tracker: Tracker, name: str) -> dict[str, Any]:
    """The ``training`` job parameters that train a new version of ``name`` like its serving version
    (kind, data series, feature set, horizon, validation split, hyper-parameters) on the data stored
    now."""
    version = _serving_version(tracker, name)
    if not version.run_id:
        raise ModelError(f"model {name!r} v{version.version} has no training run to repeat")
    logged = tracker.run_params(version.run_id)
    kind = logged.get("model_type") or version.tags.get("tradeforge.kind", "")
    if not kind:
        raise ModelError(f"model {name!r} v{version.version} does not record its model type")
    try:
        fields = PARAM_MODELS[ModelKind(kind)].model_fields
    except ValueError:
        raise ModelError(f"model {name!r} records an unknown model type {kind!r}") from None
    hyper = {k: _decoded(logged[k]) for k in fields if k in logged}
    params: dict[str, Any] = {"model_type": kind, "model_name": name, "parameters": hyper}
    for key in ("symbol", "timeframe", "source", "feature_set"):
        value = logged.get(key) or version.tags.get(f"tradeforge.{key}")
        if value:
            params[key] = value
    if "horizon" in logged:
        params["horizon"] = int(logged["horizon"])
    if "validation_split" in logged:
        params["validation_split"] = float(logged["validation_split"])
    return params


def refuse_duplicate(name: str, *, training_now: bool, queued: bool, force: bool) -> None:
    """A retrain of a model that is training (or queued to) needs ``force``."""
    if (training_now or queued) and not force:
        raise ConflictError(
            f"model {name!r} is already being trained; send force=true to queue another training"
        )
