"""Predictions: /api/v1/predict (+ /predict/batch) and /api/v1/predictions/*.

Every served prediction is logged (buffered) against its caller for the monitoring endpoints."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.features import list_indicators
from pipelines.prediction import Prediction
from serving.context import PrincipalDep, request_id_of
from serving.controllers.jobs import submit_job
from serving.dto import BatchPredict
from serving.providers.models import MODELS, ModelsDep
from serving.providers.wiring import authenticated
from serving.responses import now_stamp, shaped
from serving.responses import trading as t
from serving.responses.jobs import JobAccepted
from serving.schemas import doc
from serving.schemas import trading_examples as tx
from serving.schemas.jobs import accepted_doc
from serving.schemas.requests import BatchPredictBody, EnsemblePredictBody, PredictBody, SignalPredictBody

__all__ = ["PredictController", "PredictionsController"]

# Without a model, /api/v1/predict uses the best registered model of the first kind found here.
_DEFAULT_KINDS = ("ensemble", "lightgbm", "xgboost", "random_forest", "simple", "lstm")


def _log(
    models: ModelsDep,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    endpoint: str,
    p: Prediction,
    body: dict[str, Any] | None = None,
) -> None:
    """Count and log ``p`` (``body``: its ``as_dict()`` when the caller made it already)."""
    models.observer.record_prediction(
        body if body is not None else p.as_dict(),
        user_id=principal.user_id,
        endpoint=endpoint,
        request_id=request_id_of(request.scope),
        latency_ms=p.computation_time_ms,
        data_version=p.data_version,
        features=p.indicators,
    )


async def _predict(
    models: ModelsDep, model_name: str, symbol: str | None, timeframe: str | None
) -> Prediction:
    """Inline when the answer is in memory (tens of microseconds); in a worker thread when it needs
    I/O (loading the model, reading or ingesting bars), so the event loop never waits on disk."""
    predictions = models.predictions
    if predictions.ready(model_name, symbol, timeframe):
        return predictions.predict(model_name, symbol, timeframe)
    return await anyio.to_thread.run_sync(partial(predictions.predict, model_name, symbol, timeframe))


def _resolve(models: ModelsDep, model: str | None, symbol: str | None, timeframe: str | None) -> str:
    if model is not None:
        return models.predictions.resolve_model(model, symbol, timeframe)
    for kind in _DEFAULT_KINDS:
        try:
            return models.predictions.resolve_model(kind, symbol, timeframe)
        except DataNotFoundError:
            continue
    raise DataNotFoundError(
        "no registered model to predict with: train one first (POST /api/v1/models/train)"
    )


def _requested_indicators(names: list[str], feature_names: list[str]) -> dict[str, list[str]]:
    """The request's ``features.technical_indicators``: each must be a known indicator; maps each to the
    model's feature columns computed from it (the model always sees its trained features)."""
    known = {i.name for i in list_indicators()}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        bad = ", ".join(map(repr, unknown))
        raise InvalidRequestError(f"unknown technical indicator(s) {bad}; known: {', '.join(sorted(known))}")
    return {n: [f for f in feature_names if f == n.lower() or f.startswith(n.lower() + "_")] for n in names}


class PredictController(Controller):
    """/api/v1/predict: a prediction by model name or kind, with optional indicators; batches."""

    path = "/api/v1/predict"
    tags = ["predictions"]
    dependencies = MODELS

    @post(
        "/",
        status_code=HTTP_200_OK,
        summary="Predict a symbol's next move",
        responses=doc(tx.PREDICTED, 400, 401, 404),
        sync_to_thread=True,
    )
    def predict(
        self,
        models: ModelsDep,
        data: PredictBody,
        principal: PrincipalDep,
        request: Request[Any, Any, Any],
    ) -> t.Predicted:
        name = _resolve(models, data.model, data.symbol, data.timeframe)
        p = models.predictions.predict(name, data.symbol, data.timeframe)
        body = p.as_dict()
        _log(models, request, principal, "/api/v1/predict", p, body)
        metadata: dict[str, Any] = {
            "model_name": p.model_name,
            "model_type": p.model_kind,
            "model_version": p.model_version,
            "features_used": p.features_used,
            "computation_time_ms": round(p.computation_time_ms, 3),
            "data_points": p.data_points,
            "horizon": p.horizon,
            "source": p.source,
        }
        if data.features is not None:
            feature_names = models.registry.load(p.model_name).meta.feature_names
            metadata["features_requested"] = _requested_indicators(
                data.features.technical_indicators, feature_names
            )
            metadata["volume_features"] = [f for f in feature_names if "volume" in f or f in ("obv", "vwap")]
        return shaped(
            t.Predicted,
            {
                "status": "success",
                "prediction": {**body, "model": data.model or p.model_name},
                "metadata": metadata,
            },
        )

    @post(
        "/batch",
        status_code=HTTP_200_OK,
        summary="Predictions for several symbols",
        responses={**doc(tx.BATCH_PREDICTED, 400, 401, 404), **accepted_doc()},
        sync_to_thread=True,
    )
    def predict_batch(
        self,
        models: ModelsDep,
        data: BatchPredictBody,
        principal: PrincipalDep,
        request: Request[Any, Any, Any],
    ) -> Response[t.BatchPredicted | JobAccepted]:
        return _batch(models, data, principal, request, "/api/v1/predict/batch")


def _batch(
    models: ModelsDep,
    data: BatchPredict,
    principal: PrincipalDep,
    request: Request[Any, Any, Any],
    endpoint: str,
) -> Response[t.BatchPredicted | JobAccepted]:
    if data.model is not None and data.model_name is not None and data.model != data.model_name:
        raise InvalidRequestError("give model or model_name, not two different models")
    first = data.symbols[0] if data.symbols else None
    name = _resolve(models, data.model_name or data.model, first, data.timeframe)
    if data.run_async:  # "status": "accepted", a job id and the URL to follow it at
        params = {"model_name": name, "symbols": list(data.symbols), "timeframe": data.timeframe}
        job = submit_job(models.jobs, "batch_prediction", {k: v for k, v in params.items() if v}, principal)
        job = msgspec.structs.replace(job, status="accepted", job_status=job.status)
        return Response(job, status_code=HTTP_202_ACCEPTED)
    batch = models.predictions.predict_batch(name, data.symbols, timeframe=data.timeframe)
    for p in batch.predictions:
        _log(models, request, principal, endpoint, p)
    body = batch.as_dict()
    answer = {"status": "success", "model": data.model or name, **body, "timestamp": now_stamp()}
    return Response(shaped(t.BatchPredicted, answer))


class PredictionsController(Controller):
    """/api/v1/predictions: signals, batches, ensembles and a model's signal history."""

    path = "/api/v1/predictions"
    tags = ["predictions"]
    dependencies = MODELS

    @post(
        "/predict",
        status_code=HTTP_200_OK,
        summary="Signal, confidence and recommendation",
        responses=doc(tx.SIGNAL_PREDICTED, 400, 401, 404),
    )
    async def predict(
        self, models: ModelsDep, data: SignalPredictBody, request: Request[Any, Any, Any]
    ) -> t.SignalPredicted:
        # The caller is read from the request rather than injected: one dependency less to resolve
        # on the API's busiest route (the middleware has authenticated it already).
        principal = authenticated(request)
        p = await _predict(models, data.model_name, data.symbol, data.timeframe)
        body = p.as_dict()
        _log(models, request, principal, "/api/v1/predictions/predict", p, body)
        return shaped(
            t.SignalPredicted,
            {
                **body,
                "metadata": {
                    "model_type": p.model_kind,
                    "model_version": p.model_version,
                    "data_points": min(p.data_points, data.days_lookback),
                    "bars_available": p.data_points,
                    "days_lookback": data.days_lookback,
                    "latest_date": p.latest_date,
                    "features_used": p.features_used,
                    "computation_time_ms": round(p.computation_time_ms, 3),
                },
            },
        )

    @post(
        "/predict/batch",
        status_code=HTTP_200_OK,
        summary="Signals for several symbols",
        responses={**doc(tx.BATCH_PREDICTED, 400, 401, 404), **accepted_doc()},
        sync_to_thread=True,
    )
    def predict_batch(
        self,
        models: ModelsDep,
        data: BatchPredictBody,
        principal: PrincipalDep,
        request: Request[Any, Any, Any],
    ) -> Response[t.BatchPredicted | JobAccepted]:
        return _batch(models, data, principal, request, "/api/v1/predictions/predict/batch")

    @post(
        "/predict/ensemble",
        status_code=HTTP_200_OK,
        summary="Weighted ensemble of models",
        responses=doc(tx.ENSEMBLE_PREDICTED, 400, 401, 404),
        sync_to_thread=True,
    )
    def predict_ensemble(
        self,
        models: ModelsDep,
        data: EnsemblePredictBody,
        principal: PrincipalDep,
        request: Request[Any, Any, Any],
    ) -> t.EnsemblePredicted:
        result = models.predictions.predict_ensemble(data.model_names, data.symbol, data.weights)
        body = result.as_dict()
        models.observer.record_prediction(
            {
                "model_name": ("ensemble:" + "+".join(result.models_used))[:200],
                "symbol": result.symbol,
                "signal": body["ensemble_signal"],
                "confidence": body["ensemble_confidence"],
                "recommendation": result.recommendation,
                "current_price": body["current_price"],
            },
            user_id=principal.user_id,
            endpoint="/api/v1/predictions/predict/ensemble",
            request_id=request_id_of(request.scope),
            latency_ms=0.0,
        )
        return shaped(t.EnsemblePredicted, body)

    @get(
        "/models/{model_name:str}/signals/{symbol:str}",
        summary="The model's signals over the last days",
        responses=doc(tx.SIGNAL_HISTORY, 400, 401, 404),
        sync_to_thread=True,
    )
    def signals(
        self,
        models: ModelsDep,
        model_name: FromPath[str],
        symbol: FromPath[str],
        days: int = Parameter(default=30, ge=1, le=3650, description="bars of history"),
    ) -> t.SignalHistory:
        return shaped(t.SignalHistory, models.predictions.signal_history(model_name, symbol, days).as_dict())
