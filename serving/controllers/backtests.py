"""/api/v1/backtest: run, compare, walk-forward, optimize, parameter sweeps and the metric catalogue;
/api/strategies."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from pipelines.app.backtest import api_backtest, api_compare, metric_catalog
from pipelines.app.optimize import api_optimize
from pipelines.app.optimize_plan import SYNC_BUDGET, SYNC_MAX_TRIALS
from pipelines.app.sweep import api_sweep
from pipelines.app.walk_forward import api_walk_forward
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from serving.context import PrincipalDep
from serving.controllers.jobs import submit_job
from serving.dto import BacktestRun, Optimize, Sweep, WalkForward, job_params
from serving.providers.analysis import ANALYSIS, AnalysisDep, AnalysisProvider
from serving.responses import shaped
from serving.responses import trading as t
from serving.responses.jobs import JobAccepted
from serving.responses.optimize import OptimizeResult
from serving.responses.sweeps import SweepAnswer
from serving.schemas import doc
from serving.schemas import sweep_examples as sx
from serving.schemas import trading_examples as tx
from serving.schemas.jobs import accepted_doc
from serving.schemas.optimize_examples import OPTIMIZE_RESULT
from serving.schemas.requests import BacktestRunBody, CompareBody, OptimizeBody, SweepBody, WalkForwardBody

__all__ = ["BacktestController"]


class BacktestController(Controller):
    path = "/api/v1/backtest"
    tags = ["backtests"]
    dependencies = ANALYSIS

    @post(
        "/run",
        status_code=HTTP_200_OK,
        summary="Backtest a model or a strategy",
        responses={**doc(tx.BACKTEST, 400, 401, 404), **accepted_doc()},
        sync_to_thread=True,
    )
    def run(
        self, analysis: AnalysisDep, data: BacktestRunBody, principal: PrincipalDep
    ) -> Response[t.Backtest | JobAccepted]:
        params = _arguments(analysis, data, principal)
        if data.run_async:
            return Response(
                submit_job(analysis.jobs, "backtest", params, principal), status_code=HTTP_202_ACCEPTED
            )
        answer = shaped(
            t.Backtest,
            analysis.run_keeping_files(
                "backtest",
                params,
                principal.user_id,
                lambda result_id: api_backtest(analysis.settings, result_id=result_id, **params),
            ),
        )
        return Response(answer)

    @post(
        "/compare",
        status_code=HTTP_200_OK,
        summary="Compare models and strategies",
        responses=doc(tx.COMPARISON, 400, 401, 404),
        sync_to_thread=True,
    )
    def compare(self, analysis: AnalysisDep, data: CompareBody) -> t.Comparison:
        return shaped(
            t.Comparison,
            api_compare(
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
            ),
        )

    @post(
        "/walk-forward",
        status_code=HTTP_200_OK,
        summary="Walk-forward analysis",
        responses={**doc(tx.WALK_FORWARD_RESULT, 400, 401, 404), **accepted_doc()},
        sync_to_thread=True,
    )
    def walk_forward(
        self, analysis: AnalysisDep, data: WalkForwardBody, principal: PrincipalDep
    ) -> Response[t.WalkForwardResult | JobAccepted]:
        params = _arguments(analysis, data, principal)
        if data.run_async:
            job = submit_job(analysis.jobs, "walk_forward", params, principal)
            return Response(job, status_code=HTTP_202_ACCEPTED)
        tracker = analysis.tracker
        answer = shaped(
            t.WalkForwardResult,
            analysis.run_keeping_files(
                "walk_forward",
                params,
                principal.user_id,
                lambda result_id: api_walk_forward(analysis.settings, tracker, result_id=result_id, **params),
            ),
        )
        return Response(answer)

    @post(
        "/optimize",
        status_code=HTTP_200_OK,
        summary="Optimize a strategy's parameters",
        description="An Optuna (TPE) search of the ranges in `grid` (`low:high`, `low:high:step` or "
        "`a,b,c`, as a sweep's grid), `params` held fixed (`parameters` and `fixed`, their older names, "
        "are still accepted), skipping those that break a `constraints` rule, on the bars before the "
        "held-out tail "
        "(`holdout`, a fraction); the best parameters are then traded on the tail, so in-sample and "
        "out-of-sample metrics show side by side, with the Sharpe ratio deflated by the trials and the "
        "probability of backtest over-fitting, and both windows set against buy and hold (`benchmark`, "
        "`benchmark_in_sample`). A `study_name` keeps the study: asking again with the "
        "same settings runs more trials of it (another user's study of that name is a different study). "
        f"More than {SYNC_MAX_TRIALS} trials, or trials x bars over {SYNC_BUDGET} x the bar limit, run "
        "only as a job (`async: true`; progress per trial on the jobs' event stream). Each search is "
        "logged as an MLflow run (`mlflow_run_id`).",
        responses={**doc(OPTIMIZE_RESULT, 400, 401, 404, 409), **accepted_doc()},
        sync_to_thread=True,
    )
    def optimize(
        self, analysis: AnalysisDep, data: OptimizeBody, principal: PrincipalDep
    ) -> Response[OptimizeResult | JobAccepted]:
        params = {**_arguments(analysis, data, principal), "owner": principal.user_id}
        if data.run_async:
            job = submit_job(analysis.jobs, "optimize", params, principal)
            return Response(job, status_code=HTTP_202_ACCEPTED)
        return Response(shaped(OptimizeResult, api_optimize(analysis.settings, waiting=True, **params)))

    @post(
        "/sweep",
        status_code=HTTP_200_OK,
        summary="Parameter sweep: a strategy over a grid of its parameters",
        description="Backtests every combination of `grid` (at most `sweep_max_combinations`) on the "
        "same bars, ranked by `objective`: the best `top` rows, the best's metrics, its deflated Sharpe "
        "ratio and the probability of backtest over-fitting, the best against buy and hold of the symbol "
        '(`benchmark`) and the "how much to trust this" lines (`trust`). Every combination, and a heat '
        "map of the "
        "objective over two swept parameters, are in the MLflow run `mlflow_run_id`. With `async`: a "
        "`sweep` job whose progress streams at /api/system/task-events.",
        responses={**doc(sx.SWEEP, 400, 401, 404), **accepted_doc()},
        sync_to_thread=True,
    )
    def sweep(
        self, analysis: AnalysisDep, data: SweepBody, principal: PrincipalDep
    ) -> Response[SweepAnswer | JobAccepted]:
        params = _arguments(analysis, data, principal)
        if data.run_async:
            return Response(
                submit_job(analysis.jobs, "sweep", params, principal), status_code=HTTP_202_ACCEPTED
            )
        return Response(shaped(SweepAnswer, api_sweep(analysis.settings, analysis.tracker, **params)))

    @get(
        "/metrics",
        summary="The metrics a backtest reports",
        responses=doc(tx.METRIC_CATALOG, 401),
        sync_to_thread=False,
    )
    def metrics(self) -> t.MetricCatalog:
        return shaped(t.MetricCatalog, metric_catalog())


def _arguments(
    analysis: AnalysisProvider, data: BacktestRun | WalkForward | Optimize | Sweep, principal: Any
) -> dict[str, Any]:
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
