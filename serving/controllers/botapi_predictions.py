"""/api/predictions: N-step OHLC forecasts of a symbol from its multi_ohlc forecaster (trained first
when it has none or it is too old), at once, as a job, or as a progress stream (SSE); and the
caller's stored predictions.

``GET /api/predictions/`` and ``/stream`` serve anonymous callers (credentials, when sent, are still
checked and the caller recorded); training on their behalf needs a caller, as ``generate``, ``list``
and ``{prediction_id}`` do. Another user's prediction id is the same 404 as an unknown one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_202_ACCEPTED

from pipelines.app.forecast import ForecastQuery, Progress, age_limit_days, forecast
from pipelines.app.forecast_jobs import prediction_record, prediction_records, submit_prediction, sync_trainer
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import TIMEFRAMES, parse_timeframe
from pipelines.errors import BusyError, ProviderError, TradeforgeError
from pipelines.models.ownership import Actor
from serving.context import PrincipalDep, principal_of
from serving.errors import status_for
from serving.providers.models import MODELS, ModelsDep, ModelsProvider
from serving.responses import botapi as b
from serving.responses import shaped
from serving.schemas import botapi_examples as bx
from serving.schemas import doc, doc_text

__all__ = ["BotPredictionController"]

log = logging.getLogger("tradeforge.serving")

_PUBLIC = {"public": True}
_AGES = ", ".join(f"{tf}: {age_limit_days(parse_timeframe(tf)):g} days" for tf in ("1m", "1h", "1d"))
_FORECAST = (
    "The next N bars' OHLC of `symbol` at `timeframe` from its forecaster "
    "(`{SYMBOL}_{timeframe}_{n}steps_multi_ohlc`), each step with its return against the current price, "
    "a confidence and its time. With `auto_train` (the default) the forecaster is trained first when "
    f"there is none or it is older than its timeframe's limit ({_AGES}; 2 days below an hour, 7 below a "
    "day), and with `force_retrain` always: training needs a signed-in caller who may train the model "
    "(401 or 403 otherwise), and is a 503 naming what is short when the job queue would not start a "
    "training job now. No forecaster and `auto_train=false`: 404."
)
_Symbol = Annotated[str, Parameter(description="Ticker (AAPL) or pair (ETH_USDT, ETHUSDT, ETH/USDT)")]
_Timeframe = Annotated[str, Parameter(description=f"Bar length: {', '.join(TIMEFRAMES)}")]
_AutoTrain = Annotated[
    bool, Parameter(description="Train the forecaster first when it is missing or too old")
]
_ForceRetrain = Annotated[bool, Parameter(description="Retrain the forecaster even when it is fresh")]


def _run(
    models: ModelsProvider, request: Request[Any, Any, Any], query: ForecastQuery, progress: Progress | None
) -> dict[str, Any]:
    principal = principal_of(request.scope)
    actor = None if principal is None else Actor(principal.user_id, principal.is_admin)
    train = sync_trainer(models.predictions, models.jobs, models.training, models.owners, actor)
    return forecast(models.predictions, query, train, progress=progress)


def _error(exc: TradeforgeError) -> dict[str, Any]:
    """An error event's payload: the message a 4xx (or a 503) would carry; no internals of a fault."""
    shown = status_for(exc) < 500 or isinstance(exc, ProviderError | BusyError)
    return {"message": str(exc) if shown else "prediction failed", "code": exc.code}


def _event(kind: str, payload: dict[str, Any]) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=json.dumps(payload, default=str), event=kind)


class BotPredictionController(Controller):
    path = "/api/predictions"
    tags = ["predictions"]
    dependencies = MODELS

    @get(
        "/",
        opt=_PUBLIC,
        summary="N-step OHLC forecast of a symbol (trains its model first when needed)",
        description=_FORECAST,
        responses=doc(bx.FORECAST, 400, 401, 403, 404, 409, 503),
        sync_to_thread=True,
    )
    def get_forecast(
        self,
        models: ModelsDep,
        request: Request[Any, Any, Any],
        symbol: _Symbol,
        timeframe: _Timeframe,
        auto_train: _AutoTrain = True,
        force_retrain: _ForceRetrain = False,
    ) -> b.Forecast:
        query = ForecastQuery(symbol, timeframe, auto_train, force_retrain)
        return shaped(b.Forecast, _run(models, request, query, None))

    @post(
        "/generate",
        status_code=HTTP_202_ACCEPTED,
        summary="Generate a forecast in the background (a prediction job)",
        description="Queues a `prediction` job for the caller (it trains the forecaster first when "
        "`auto_train` allows and it is needed, as `GET /api/predictions/` does): `running` when it "
        "started at once, else `queued` with its position and the reason it waits. Follow it at "
        "`/api/predictions/{prediction_id}` or on `/api/system/task-events`.",
        responses=doc(bx.PREDICTION_QUEUED, 400, 401, status=HTTP_202_ACCEPTED),
        sync_to_thread=True,
    )
    def generate(
        self,
        models: ModelsDep,
        principal: PrincipalDep,
        symbol: _Symbol,
        timeframe: _Timeframe,
        auto_train: _AutoTrain = True,
    ) -> b.PredictionAccepted:
        query = ForecastQuery(symbol, timeframe, auto_train)
        body = submit_prediction(models.jobs, query, principal.user_id)
        return shaped(b.PredictionAccepted, body)

    @get(
        "/list",
        summary="Your predictions, newest first",
        responses=doc(bx.PREDICTION_LIST, 401),
        sync_to_thread=True,
    )
    def list_predictions(self, models: ModelsDep, principal: PrincipalDep) -> list[b.PredictionRecord]:
        return [shaped(b.PredictionRecord, r) for r in prediction_records(models.jobs, principal.user_id)]

    @get(
        "/stream",
        opt=_PUBLIC,
        summary="A forecast with its progress (SSE): status events, then complete or error",
        description="`status` events (`step`: check, fetch, train, predict; `status`, `title`, "
        "`message`), then `complete` with the forecast of `GET /api/predictions/` or `error` with its "
        "`message` and `code`. Trains as `GET /api/predictions/` does with `auto_train`. A bad symbol "
        "or timeframe is a 400 before the stream opens.",
        responses={
            **doc_text("text/event-stream", bx.PREDICTION_STREAM, "Progress events"),
            400: doc({}, 400)[400],
        },
    )
    async def stream(
        self, models: ModelsDep, request: Request[Any, Any, Any], symbol: _Symbol, timeframe: _Timeframe
    ) -> ServerSentEvent:
        parse_symbol(symbol), parse_timeframe(timeframe)  # bad input: a 400 now, not an error event
        query = ForecastQuery(symbol, timeframe)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

        def progress(step: str, title: str, message: str) -> None:
            status = {"step": step, "status": "in-progress", "title": title, "message": message}
            loop.call_soon_threadsafe(events.put_nowait, ("status", status))

        async def produce() -> None:
            try:
                body = await asyncio.to_thread(_run, models, request, query, progress)
                final = ("complete", body)
            except TradeforgeError as exc:
                final = ("error", _error(exc))
            except Exception:
                log.exception("the forecast stream of %s %s failed", symbol, timeframe)
                final = ("error", {"message": "prediction failed", "code": "INTERNAL_ERROR"})
            events.put_nowait(final)

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            task = asyncio.ensure_future(produce())
            try:
                while True:
                    kind, payload = await events.get()
                    yield _event(kind, payload)
                    if kind != "status":
                        return
            finally:
                if not task.done():
                    task.cancel()

        return ServerSentEvent(messages())

    @get(
        "/{prediction_id:str}",
        summary="One of your predictions: its forecast once completed",
        responses=doc(bx.PREDICTION_RESULT, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_prediction(
        self, models: ModelsDep, principal: PrincipalDep, prediction_id: FromPath[str]
    ) -> b.PredictionResult:
        return shaped(b.PredictionResult, prediction_record(models.jobs, prediction_id, principal.user_id))
