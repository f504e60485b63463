"""The batch prediction use case (the ``batch_prediction`` job kind): one model's predictions for
many symbols, by the same prediction service as the API's single-symbol requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.app.job_params import checked, require_model, text_param
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.prediction.ensemble import validate_symbols
from pipelines.prediction.predictor import Predictor
from pipelines.prediction.results import BatchPrediction
from pipelines.settings import Settings

__all__ = ["BatchPredictionRequest", "batch_prediction_task", "predict_batch"]

_BATCH_KEYS = ("model_name", "symbols", "timeframe", "ref")


@dataclass(frozen=True, slots=True)
class BatchPredictionRequest:
    """One model's predictions for many symbols: the model's version ``ref`` (an alias or a number),
    at ``timeframe`` (None: the model's own)."""

    model_name: str
    symbols: tuple[str, ...]
    ref: str = "champion"
    timeframe: str | None = None


def predict_batch(settings: Settings, request: BatchPredictionRequest) -> BatchPrediction:
    """The request's predictions, one per symbol; a symbol that fails is reported with its error."""
    service = Predictor(settings, ModelRegistry(open_tracker(settings), settings.models_cache_dir))
    return service.predict_batch(request.model_name, request.symbols, request.ref, request.timeframe)


def _validate_batch(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    unknown = sorted(set(params) - set(_BATCH_KEYS))
    if unknown:
        raise InvalidRequestError(
            f"unknown job parameter(s): {', '.join(unknown)}; expected: {', '.join(_BATCH_KEYS)}"
        )
    model_name = str(text_param(params, "model_name"))
    symbols = params.get("symbols")
    if not isinstance(symbols, list):
        raise InvalidRequestError("symbols must be a list of symbols")
    limit = settings.limits.max_symbols_per_request
    normalized = dict(params, symbols=checked(lambda: validate_symbols(symbols, limit)))
    if params.get("timeframe") is not None:
        normalized["timeframe"] = parse_timeframe(str(params["timeframe"])).name
    require_model(settings, model_name)
    return normalized


@register_task(
    "batch_prediction",
    cpu_cores=0.5,
    ram_gb=1.0,
    validate=_validate_batch,
    describe=lambda p: (
        f"Generating predictions of {p.get('model_name')} for {len(p.get('symbols') or ())} symbols..."
    ),
)
def batch_prediction_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    progress.update(10.0, f"Generating predictions of {params['model_name']}...")
    request = BatchPredictionRequest(
        params["model_name"],
        tuple(params["symbols"]),
        params.get("ref") or "champion",
        params.get("timeframe"),
    )
    batch = predict_batch(progress.settings, request)
    return {"status": "success", "model": request.model_name, **batch.as_dict()}
