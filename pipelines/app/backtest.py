"""The backtest use cases (``/api/v1/backtest``: run, compare, metrics; the ``backtest`` job kind),
answered by the same planners and engine as the CLI and the Dagster assets.

A request names a registered model (``model_name``: traded with ``ml_predictive``) or a strategy
(``strategy`` + ``params``: one of ``pipelines.backtest.strategies``); dates are ``start_date``/``end_date``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.app.backtest_plan import LazyRegistrySignals, backtest_run, plan_backtest, warmup_start
from pipelines.app.full_curves import keep_full_curve
from pipelines.app.honest_results import benchmark_symbol_bars
from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.app.job_params import bars_ram, checked, only_known, text_param, with_span
from pipelines.backtest.benchmark_compare import buy_and_hold_on
from pipelines.backtest.compare import BENCHMARK_LABEL, Compared, compare_row, compare_runs
from pipelines.backtest.honest import benchmark_block, compare_significance
from pipelines.backtest.metrics import METRIC_NAMES
from pipelines.backtest.strategies import strategy_name
from pipelines.data.default_source import default_source
from pipelines.data.limits import estimate_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.version import DataVersion
from pipelines.datasets.files import stored_bars
from pipelines.errors import InvalidRequestError
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.settings import Settings

__all__ = [
    "METRIC_DESCRIPTIONS",
    "TRADING_FIELDS",
    "AnalysisAnswer",
    "BacktestQuery",
    "CompareQuery",
    "TradingTerms",
    "api_backtest",
    "api_compare",
    "backtest_task",
    "metric_catalog",
    "run_backtest",
    "run_compare",
    "source_for",
    "strategy_of",
    "trading_fields",
]

METRIC_DESCRIPTIONS: dict[str, str] = {
    "total_return": "final equity / initial capital - 1",
    "annual_return": "geometric annualized return (252 bars a year for daily stocks, 365 for crypto)",
    "sharpe_ratio": "mean bar return / std of bar returns * sqrt(bars per year), risk-free rate 0",
    "sortino_ratio": "mean bar return / downside deviation below 0 * sqrt(bars per year)",
    "calmar_ratio": "annual_return / |max_drawdown|",
    "max_drawdown": "deepest fall of equity from its running peak, as a negative fraction",
    "volatility": "std of bar returns * sqrt(bars per year)",
    "num_trades": "round trips (entry to exit), a trade open at the end included",
    "win_rate": "winning trades / num_trades",
    "profit_factor": "gross profit / gross loss",
    "avg_win": "mean pnl of winning trades, account currency",
    "avg_loss": "mean pnl of losing trades, account currency (negative)",
    "avg_trade_duration": "mean bars a position was held",
    "avg_trade_duration_seconds": "mean wall-clock time from entry bar to exit bar",
    "winning_trades": "trades with pnl > 0",
    "losing_trades": "trades with pnl < 0",
    "exposure": "share of bars that close with a position open",
}
assert set(METRIC_DESCRIPTIONS) == set(METRIC_NAMES)

log = logging.getLogger(__name__)
_SECOND = pd.Timedelta(seconds=1)  # an exclusive end just after the last bar

# A comparison replays its range once per run: all runs together may replay this many times the bars
# one request may read.
COMPARE_BUDGET = 5

TRADING_FIELDS = (
    "initial_capital",
    "commission",
    "slippage",
    "position_size",
    "allow_short",
    "stop_loss",
    "take_profit",
)


def metric_catalog() -> dict[str, Any]:
    return {
        "metrics": [{"name": n, "description": METRIC_DESCRIPTIONS[n]} for n in METRIC_NAMES],
        "count": len(METRIC_NAMES),
    }


def strategy_of(
    model_name: str | None, strategy: str | None, params: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    given = dict(params or {})
    strategy = None if strategy is None else strategy_name(strategy)
    if strategy is None and model_name is None:
        raise InvalidRequestError("name a registered model (model_name) or a strategy (strategy, params)")
    if strategy is None or strategy == "ml_predictive":
        if model_name is None and "model_name" not in given:
            raise InvalidRequestError("strategy 'ml_predictive' needs model_name")
        if model_name is not None:
            given["model_name"] = model_name
        return "ml_predictive", given
    if model_name is not None:
        raise InvalidRequestError(f"model_name is only for ml_predictive; strategy {strategy!r} takes params")
    return strategy, given


def trading_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: fields[k] for k in TRADING_FIELDS if fields.get(k) is not None}


@dataclass(frozen=True, kw_only=True)
class TradingTerms:
    """The trading settings a request may give (None: the planner's default)."""

    initial_capital: float | None = None
    commission: float | None = None
    slippage: float | None = None
    position_size: float | None = None
    allow_short: bool | None = None
    stop_loss: float | None = None
    take_profit: float | None = None

    def given(self) -> dict[str, Any]:
        return trading_fields({k: getattr(self, k) for k in TRADING_FIELDS})


@dataclass(frozen=True, kw_only=True)
class BacktestQuery(TradingTerms):
    """A backtest of a registered model (``model_name``) or a strategy (``strategy`` + ``params``);
    ``dataset_id``: the bars of an uploaded ``ohlcv`` dataset (the caller checked its owner)."""

    symbol: str
    model_name: str | None = None
    strategy: str | None = None
    params: Mapping[str, Any] | None = None
    start_date: Any = None
    end_date: Any = None
    timeframe: str = "1d"
    source: str | None = None
    dataset_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CompareQuery(TradingTerms):
    """Models and strategies ({"strategy", "params", "label"?}) traded on the same bars."""

    symbol: str
    model_names: Sequence[str] = ()
    strategies: Sequence[Mapping[str, Any]] = ()
    start_date: Any = None
    end_date: Any = None
    timeframe: str = "1d"
    source: str | None = None


@dataclass(frozen=True)
class AnalysisAnswer:
    """An analysis's answer (the API's JSON body) and the version of the bars it read (recorded in
    the log and the job's description, not in the documented body)."""

    body: dict[str, Any]
    data_version: DataVersion

    def version_note(self) -> str:
        v = self.data_version
        return f"data version {v.content_hash} (last bar {v.last_bar_iso}, {v.rows} rows)"


def run_backtest(settings: Settings, query: BacktestQuery, *, result_id: str | None = None) -> AnalysisAnswer:
    """``result_id``: the job that keeps the full curve and trades when the answer cuts them."""
    name, checked = strategy_of(query.model_name, query.strategy, query.params)
    with stored_bars(settings, query.dataset_id, query.source) as (source, path):
        request = plan_backtest(
            settings,
            strategy=name,
            params=checked,
            symbol=query.symbol,
            source=source or source_for(settings, query.symbol, query.timeframe),
            timeframe=query.timeframe,
            start=query.start_date,
            end=query.end_date,
            path=path,
            **query.given(),
        )
        run = backtest_run(settings, request)
    body = run.result.as_dict(settings.limits.max_response_points)
    body["full_curve"] = keep_full_curve(settings, result_id, run.result, body)
    body |= run.honest.as_dict()
    answer = AnalysisAnswer(
        {
            "model_name": query.model_name,
            "strategy": name,
            "params": checked,
            "symbol": request.symbol,
            "timeframe": request.timeframe,
            "period": {"start": request.start.date().isoformat(), "end": request.end.date().isoformat()},
            **body,
            "status": "success",
        },
        run.data_version,
    )
    log.info(
        "backtest of %s on %s %s read %s", name, request.symbol, request.timeframe, answer.version_note()
    )
    return answer


def api_backtest(settings: Settings, *, result_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """:func:`run_backtest` of the :class:`BacktestQuery` ``fields`` name (the JSON body or the job's
    parameters), answered as its body."""
    return run_backtest(settings, BacktestQuery(**fields), result_id=result_id).body


def run_compare(settings: Settings, query: CompareQuery) -> AnalysisAnswer:
    """One metrics row per model and per strategy, plus buy and hold, on one read of the bars."""
    runs: list[tuple[str, str, Mapping[str, Any] | None]] = []
    for name in query.model_names:
        runs.append((name, "ml_predictive", {"model_name": name}))
    for i, spec in enumerate(query.strategies):
        if not isinstance(spec, Mapping) or "strategy" not in spec:
            raise InvalidRequestError(f"strategies[{i}] must be an object with a 'strategy' name")
        label = str(spec.get("label") or spec["strategy"])
        runs.append((label, str(spec["strategy"]), spec.get("params") or {}))
    if not runs:
        raise InvalidRequestError("compare needs at least one of model_names or strategies")
    if len(runs) > 20:
        raise InvalidRequestError(f"compare takes at most 20 runs, got {len(runs)}")
    base = plan_backtest(
        settings,
        strategy="buy_and_hold",
        symbol=query.symbol,
        source=query.source or source_for(settings, query.symbol, query.timeframe),
        timeframe=query.timeframe,
        start=query.start_date,
        end=query.end_date,
        **query.given(),
    )
    for _label, strat, params in runs:  # validate every run before any data is read
        plan_backtest(settings, strategy=strat, params=params, symbol=base.symbol, source=base.source)
    _check_compare_budget(settings, base, len(runs))
    first = warmup_start(base.start, base.timeframe, crypto=base.config.crypto)
    table = ensure_bars_table(
        settings, DataRequest(base.source, base.symbol, base.timeframe, first, base.end)
    )
    compared = compare_runs(table.bars(), runs, base.config, LazyRegistrySignals(settings), start=base.start)
    rows = [compare_row(label, *run) for label, run in compared.items()]
    answer = AnalysisAnswer(
        {
            "symbol": base.symbol,
            "timeframe": base.timeframe,
            "period": {"start": base.start.date().isoformat(), "end": base.end.date().isoformat()},
            "models_compared": list(query.model_names),
            "results": rows,
            "best": max((r for r in rows if r["label"] != BENCHMARK_LABEL), key=_sharpe)["label"],
            **_compare_honesty(settings, base, compared),
            "status": "success",
        },
        table.version,
    )
    log.info("comparison on %s %s read %s", base.symbol, base.timeframe, answer.version_note())
    return answer


def api_compare(settings: Settings, **fields: Any) -> dict[str, Any]:
    """:func:`run_compare` of the :class:`CompareQuery` ``fields`` name, answered as its body."""
    return run_compare(settings, CompareQuery(**fields)).body


def _compare_honesty(settings: Settings, base: Any, compared: Compared) -> dict[str, Any]:
    """The best run against buy and hold (and the settings' benchmark symbol), and its Sharpe ratio
    deflated by the runs compared."""
    bench = compared[BENCHMARK_LABEL][2]
    traded = {label: result for label, (_, _, result) in compared.items() if label != BENCHMARK_LABEL}
    significance = compare_significance(traded, bench.metrics["sharpe_ratio"])
    best = traded[significance["best"]]
    ts, equity, per_year = best.timestamps_ns, best.equity, best.config.bars_per_year
    block = benchmark_block(base.symbol, bench, ts, equity, per_year)
    first, end = best.timestamps[0], best.timestamps[-1] + _SECOND
    others = benchmark_symbol_bars(settings, base.symbol, base.timeframe, first, end, base.source)
    block["others"] = [
        benchmark_block(name, buy_and_hold_on(bars, ts, best.config), ts, equity, per_year)
        for name, bars in others
    ]
    return {"benchmark": block, "significance": significance}


def _check_compare_budget(settings: Settings, base: Any, runs: int) -> None:
    """Each run replays the whole range: runs x bars is held to ``COMPARE_BUDGET`` times the bar limit."""
    bars = estimate_bars(base.timeframe, base.start, base.end, crypto=base.config.crypto)
    budget = settings.limits.max_bars_per_request * COMPARE_BUDGET
    if bars * runs > budget:
        raise InvalidRequestError(
            f"comparing {runs} runs over about {bars:,} bars replays {bars * runs:,} bars, over the limit of "
            f"{budget:,} ({COMPARE_BUDGET} x max_bars_per_request); compare at most "
            f"{max(1, budget // max(bars, 1))} runs on this range, or shorten the range"
        )


def _sharpe(row: Mapping[str, Any]) -> float:
    value = row.get("sharpe_ratio")
    return float(value) if value is not None else float("-inf")


def source_for(settings: Settings, symbol: str, timeframe: str = "1d") -> str:
    """The source of ``symbol``'s bars when the caller names none (a symbol given as text): see
    :func:`pipelines.data.default_source.default_source`."""
    return default_source(settings, parse_symbol(symbol), timeframe)


# -- the ``backtest`` job kind: the parameters are ``api_backtest``'s keywords ------------------------
def _validate_backtest(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    only_known(params, BacktestQuery, skip=())
    symbol = str(text_param(params, "symbol"))
    name, strategy_params = checked(
        lambda: strategy_of(params.get("model_name"), params.get("strategy"), params.get("params"))
    )
    with stored_bars(settings, params.get("dataset_id"), params.get("source")) as (source, path):
        request = checked(
            lambda: plan_backtest(
                settings,
                strategy=name,
                params=strategy_params,
                symbol=symbol,
                source=source
                or checked(lambda: source_for(settings, symbol, str(params.get("timeframe", "1d")))),
                timeframe=params.get("timeframe", "1d"),
                start=params.get("start_date"),
                end=params.get("end_date"),
                path=path,
                **trading_fields(params),
            )
        )
    return params if params.get("dataset_id") else with_span(params, request)


@register_task(
    "backtest",
    cpu_cores=0.5,
    ram_gb=0.5,
    estimate_ram=bars_ram(0.5, 1.5),
    validate=_validate_backtest,
    describe=lambda p: f"Running backtest for {p.get('symbol')}...",
)
def backtest_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """The answer of ``/api/v1/backtest/run``; the job's last description names the data version read."""
    progress.update(5.0, f"Running backtest for {params['symbol']}: loading data...")
    answer = run_backtest(progress.settings, BacktestQuery(**params), result_id=progress.job_id)
    progress.update(95.0, f"Backtest for {params['symbol']} finished on {answer.version_note()}")
    return answer.body
