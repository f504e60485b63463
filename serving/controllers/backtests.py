"""/api/v1/backtest: run, compare, walk-forward and the metric catalogue; /api/strategies."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.status_codes import HTTP_200_OK

from pipelines.app.backtest import api_backtest, api_compare, metric_catalog
from pipelines.app.walk_forward import api_walk_forward
from pipelines.backtest.strategies import list_strategies
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from serving.context import PrincipalDep
from serving.controllers.jobs import submit_job
from serving.dto import BacktestRun, WalkForward, job_params
from serving.providers.analysis import ANALYSIS, AnalysisDep, AnalysisProvider
from serving.schemas import doc
from serving.schemas import trading as t
from serving.schemas import trading_examples as tx
from serving.schemas.jobs import accepted_doc
from serving.schemas.requests import BacktestRunBody, CompareBody, WalkForwardBody

__all__ = ["BacktestController", "StrategyController"]


class BacktestController(Controller):
    path = "/api/v1/backtest"
    tags = ["backtests"]
    dependencies = ANALYSIS

    @post(
        "/run",
        status_code=HTTP_200_OK,
        summary="Backtest a model or a strategy",
        responses={**doc(t.Backtest, tx.BACKTEST, 400, 401, 404), **accepted_doc()},
        sync_to_thread=True,
    )
    def run(self, analysis: AnalysisDep, data: BacktestRunBody, principal: PrincipalDep) -> Any:
        params = _arguments(analysis, data, principal)
        if data.run_async:
            return submit_job(analysis.jobs, "backtest", params, principal)
        return analysis.run_keeping_files(
            "backtest",
            params,
            principal.user_id,
            lambda result_id: api_backtest(analysis.settings, result_id=result_id, **params),
        )

    @post(
        "/compare",
        status_code=HTTP_200_OK,
        summary="Compare models and strategies",
        responses=doc(t.Comparison, tx.COMPARISON, 400, 401, 404),
        sync_to_thread=True,
    )
    def compare(self, analysis: AnalysisDep, data: CompareBody) -> dict[str, Any]:
        return api_compare(
            analysis.settings,
            symbol=data.symbol,
            model_names=data.model_names,
            strategies=[
                {"strategy": s.strategy, "params": s.params, "label": s.label} for s in data.strategies
            ],
            start_date=data.start_date,
            end_date=data.end_date,
            timeframe=data.timeframe or "1d",
            **data.trading(),
        )

    @post(
        "/walk-forward",
        status_code=HTTP_200_OK,
        summary="Walk-forward analysis",
        responses={**doc(t.WalkForwardResult, tx.WALK_FORWARD_RESULT, 400, 401, 404), **accepted_doc()},
        sync_to_thread=True,
    )
    def walk_forward(self, analysis: AnalysisDep, data: WalkForwardBody, principal: PrincipalDep) -> Any:
        params = _arguments(analysis, data, principal)
        if data.run_async:
            return submit_job(analysis.jobs, "walk_forward", params, principal)
        tracker = analysis.tracker
        return analysis.run_keeping_files(
            "walk_forward",
            params,
            principal.user_id,
            lambda result_id: api_walk_forward(analysis.settings, tracker, result_id=result_id, **params),
        )

    @get(
        "/metrics",
        summary="The metrics a backtest reports",
        responses=doc(t.MetricCatalog, tx.METRIC_CATALOG, 401),
        sync_to_thread=False,
    )
    def metrics(self) -> dict[str, Any]:
        return metric_catalog()


def _arguments(analysis: AnalysisProvider, data: BacktestRun | WalkForward, principal: Any) -> dict[str, Any]:
    """The body as the keyword arguments of its API function (and job); a ``dataset_id`` is checked
    here (the caller's, ready, ohlcv, the same symbol and timeframe) and read there."""
    params = job_params(data)
    if data.dataset_id is None:
        return params
    if data.source is not None:
        raise InvalidRequestError("give either dataset_id or source, not both")
    bars = analysis.datasets.bars_source(data.dataset_id, principal, data.symbol)
    if data.timeframe is not None and parse_timeframe(data.timeframe).name != bars.timeframe:
        raise InvalidRequestError(f"the dataset holds {bars.timeframe} bars, not {data.timeframe}")
    params.update(timeframe=bars.timeframe, symbol=bars.symbol)
    return params


class StrategyController(Controller):
    path = "/api/strategies"
    tags = ["backtests"]
    dependencies = ANALYSIS

    @get(
        "/available",
        summary="Registered strategies and their parameter schemas",
        responses=doc(t.StrategyList, tx.STRATEGIES, 401),
        sync_to_thread=False,
    )
    def available(self) -> dict[str, Any]:
        strategies = list_strategies()
        return {"status": "success", "strategies": strategies, "count": len(strategies)}
