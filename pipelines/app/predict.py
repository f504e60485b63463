"""The batch prediction use case (the ``batch_prediction`` job kind): one model's predictions for
many symbols, by the same prediction service as the API's single-symbol requests."""

from __future__ import annotations

from typing import Any

from pipelines.app.job_params import checked, require_model, text_param
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.jobs.registry import ProgressReporter, register_task
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.prediction.ensemble import validate_symbols
from pipelines.prediction.service import PredictionService
from pipelines.settings import Settings

__all__ = ["batch_prediction_task", "predict_batch"]

_BATCH_KEYS = ("model_name", "symbols", "timeframe", "ref")


def predict_batch(
    settings: Settings,
    model_name: str,
    symbols: list[str],
    ref: str = "champion",
    timeframe: str | None = None,
) -> dict[str, Any]:
    """``model_name``'s predictions (its version ``ref``) for each of ``symbols``."""
    service = PredictionService(settings, ModelRegistry(open_tracker(settings), settings.models_cache_dir))
    batch = service.predict_batch(model_name, symbols, ref, timeframe)
    return {"status": "success", "model": model_name, **batch.as_dict()}


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
    limit = settings.max_symbols_per_request
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
    return predict_batch(
        progress.settings,
        params["model_name"],
        params["symbols"],
        params.get("ref") or "champion",
        params.get("timeframe"),
    )
