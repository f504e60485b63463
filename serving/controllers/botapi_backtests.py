"""/api/backtests: trading-bot clients' backtests, run as jobs of the ``backtest`` kind (the queue,
checks and engine of ``/api/v1/backtest``), listed and read back as their records, or streamed.

The list, a record and the stream serve anonymous callers; credentials, when sent, are still
checked and the caller recorded. A caller sees only their own backtests (an admin every one).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK

from pipelines.app.bot_backtests import (
    backtest_record,
    backtest_started,
    bot_backtest,
    bot_backtest_params,
    bot_backtests,
    parse_params,
    submit_bot_backtest,
)
from pipelines.data.timeframes import TIMEFRAMES
from serving.context import PrincipalDep, principal_of
from serving.dto import Date, Symbol
from serving.providers.jobs import JOBS, JobsDep, JobsProvider
from serving.responses import botapi_backtests as bb
from serving.responses import shaped
from serving.schemas import botapi_backtest_examples as bx
from serving.schemas import doc, doc_text

__all__ = ["BotBacktestController", "BotBacktestRun"]

_PUBLIC = {"public": True}
WAIT_SECONDS = 5.0  # a stream re-reads its job this often when no event came (a dropped event)
_STRATEGY = "A registered strategy, as `ml_predictive` or `MLPredictive` (case and `_` do not matter)"
_RUN = (
    "Queues a backtest job (the checks, queue and engine of `/api/v1/backtest/run`): `strategy` names a "
    "registered strategy in either spelling, `params` its parameters (`model_path` is the registered "
    "model of `ml_predictive`; a trading setting such as `position_size` that the strategy does not take "
    "applies to the whole backtest); `timeframe` defaults to 1d. An unknown strategy or symbol, a bad "
    "timeframe, a start after the end or a range over the bars-per-request limit is a 4xx and queues nothing."
)


class BotBacktestRun(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    strategy: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description=_STRATEGY)]
    symbol: Symbol
    start_date: Date | None = None
    end_date: Date | None = None
    initial_capital: Annotated[float, msgspec.Meta(gt=0)] = 10_000.0
    params: Annotated[dict[str, Any], msgspec.Meta(max_length=50)] | None = None
    timeframe: (
        Annotated[str, msgspec.Meta(max_length=8, description=f"One of {', '.join(TIMEFRAMES)}")] | None
    ) = None


_RunBody = Annotated[
    BotBacktestRun, Body(examples=[Example(summary="the document's example", value=bx.RUN_BODY)])
]


class BotBacktestController(Controller):
    path = "/api/backtests"
    tags = ["backtests"]
    dependencies = JOBS

    @get(
        "/",
        opt=_PUBLIC,
        summary="Your backtests, newest first (an admin sees all; anonymous callers have none)",
        description="Successful and failed runs: a failed one carries `error` instead of its blocks.",
        responses=doc(bx.BACKTESTS, 400, 401),
        sync_to_thread=True,
    )
    def list_backtests(
        self,
        jobs: JobsDep,
        request: Request[Any, Any, Any],
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> list[bb.BotBacktest]:
        rows = bot_backtests(jobs.queue, principal_of(request.scope), limit)
        return [shaped(bb.BotBacktest, row) for row in rows]

    @post(
        "/run",
        status_code=HTTP_200_OK,
        summary="Queue a backtest",
        description=_RUN,
        responses=doc(bx.STARTED, 400, 401, 404),
        sync_to_thread=True,
    )
    def run(self, jobs: JobsDep, data: _RunBody, principal: PrincipalDep) -> bb.BacktestStarted:
        info = submit_bot_backtest(jobs.queue, _params(data), principal.user_id)
        return shaped(bb.BacktestStarted, backtest_started(info))

    @get(
        "/stream",
        opt=_PUBLIC,
        summary="Run a backtest and stream its progress (SSE): status events, then complete or error",
        description="The same checks as `POST /api/backtests/run` (bad input is a 4xx before any stream); "
        "then `status` events (`step` queued or run, `progress`), and a last `complete` (the backtest "
        "record) or `error` (`message`).",
        responses=doc_text("text/event-stream", bx.SSE_EXAMPLE, "Progress, then the result", 400, 401, 404),
    )
    async def stream(
        self,
        jobs: JobsDep,
        request: Request[Any, Any, Any],
        strategy: Annotated[str, Parameter(description=_STRATEGY, max_length=64)],
        symbol: Annotated[str, Parameter(description="Ticker (AAPL) or pair (ETH_USDT)", max_length=40)],
        start_date: Annotated[str | None, Parameter(description="ISO 8601 start", max_length=40)] = None,
        end_date: Annotated[str | None, Parameter(description="ISO 8601 end", max_length=40)] = None,
        initial_capital: Annotated[float, Parameter(description="Starting cash", gt=0)] = 10_000.0,
        params: Annotated[str | None, Parameter(description="Strategy params, JSON", max_length=4000)] = None,
        timeframe: Annotated[
            str | None, Parameter(description=f"One of {', '.join(TIMEFRAMES)}", max_length=8)
        ] = None,
    ) -> ServerSentEvent:
        caller = principal_of(request.scope)
        query = bot_backtest_params(
            strategy=strategy,
            symbol=symbol,
            start_date=start_date,
            end_date=end_date,
            initial_capital=initial_capital,
            params=parse_params(params),
            timeframe=timeframe,
        )
        token, events = jobs.job_streams.open()
        try:
            info = await asyncio.to_thread(
                submit_bot_backtest, jobs.queue, query, caller.user_id if caller else None
            )
        except BaseException:
            jobs.job_streams.close(token)
            raise
        return ServerSentEvent(_progress(jobs, token, events, info.id))

    @get(
        "/{backtest_id:str}",
        opt=_PUBLIC,
        summary="One of your backtests",
        description="Another user's backtest is a 404, as an unknown id is.",
        responses=doc(bx.BACKTEST, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_backtest(
        self, jobs: JobsDep, request: Request[Any, Any, Any], backtest_id: FromPath[str]
    ) -> bb.BotBacktest:
        return shaped(bb.BotBacktest, bot_backtest(jobs.queue, backtest_id, principal_of(request.scope)))


def _params(data: BotBacktestRun) -> dict[str, Any]:
    return bot_backtest_params(
        strategy=data.strategy,
        symbol=data.symbol,
        start_date=data.start_date,
        end_date=data.end_date,
        initial_capital=data.initial_capital,
        params=data.params,
        timeframe=data.timeframe,
    )


def _message(kind: str, payload: dict[str, Any]) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=json.dumps(payload, default=str), event=kind)


def _status(step: str, title: str, message: str, progress: float, backtest_id: str) -> ServerSentEventMessage:
    payload = {"step": step, "status": "in-progress", "title": title, "message": message}
    return _message("status", {**payload, "progress": progress, "backtest_id": backtest_id})


async def _progress(
    jobs: JobsProvider, token: int, events: asyncio.Queue[dict[str, Any]], backtest_id: str
) -> AsyncIterator[ServerSentEventMessage]:
    """The job's events as ``status`` messages until it ends; then its record (``complete``) or its
    error. The job is re-read whenever no event came for a while, so a lost event never hangs it."""
    try:
        info = await asyncio.to_thread(jobs.queue.info, backtest_id)
        if info.status == "queued":
            yield _status("queued", "Backtest queued", info.message, 0.0, backtest_id)
        else:
            yield _status("run", "Backtest started", info.description, info.progress, backtest_id)
        while not info.is_terminal:
            try:
                event = await asyncio.wait_for(events.get(), timeout=WAIT_SECONDS)
            except TimeoutError:
                event = None
            if event is not None and event["data"].get("task_id") != backtest_id:
                continue
            if event is not None and event["type"] in ("task_running", "task_description_update"):
                data = event["data"]
                text = str(data.get("description", ""))
                yield _status("run", "Running backtest", text, float(data.get("progress", 0.0)), backtest_id)
            info = await asyncio.to_thread(jobs.queue.info, backtest_id)
        record = backtest_record(info)
        if info.status == "completed":
            yield _message("complete", msgspec.to_builtins(shaped(bb.BotBacktest, record)))  # as GET reads it
        else:
            yield _message("error", {"message": record["error"], "backtest_id": backtest_id})
    finally:
        jobs.job_streams.close(token)
