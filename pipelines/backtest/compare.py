"""Several strategies over the same bars and settings, side by side with buy-and-hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from pipelines.backtest.benchmark_compare import benchmark_config
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult
from pipelines.backtest.runner import run_strategy, run_strategy_from
from pipelines.backtest.strategies import StrategyContext
from pipelines.errors import InvalidRequestError

__all__ = ["BENCHMARK_LABEL", "Compared", "compare_row", "compare_runs", "compare_strategies"]

BENCHMARK_LABEL = "benchmark"
# label -> (strategy, params, result)
Compared = dict[str, tuple[str, dict[str, Any], BacktestResult]]


def compare_row(
    label: str, strategy: str, params: Mapping[str, Any], result: BacktestResult
) -> dict[str, Any]:
    """One row of a comparison: label, strategy, params, final equity and every metric."""
    return {
        "label": label,
        "strategy": strategy,
        "params": dict(params),
        "final_equity": result.final_equity,
        **result.metrics,
    }


def compare_strategies(
    bars: pd.DataFrame,
    runs: Sequence[tuple[str, str, Mapping[str, Any] | None]],
    config: BacktestConfig,
    context: StrategyContext | None = None,
    *,
    start: pd.Timestamp | None = None,
) -> list[dict[str, Any]]:
    """One row of metrics per ``(label, strategy, params)`` run, then a ``benchmark`` row: buy and
    hold with the same costs and position size (stops off: a benchmark does not trade). With
    ``start``, bars before it only warm the indicators; trading starts there."""
    compared = compare_runs(bars, runs, config, context, start=start)
    return [compare_row(label, *run) for label, run in compared.items()]


def compare_runs(
    bars: pd.DataFrame,
    runs: Sequence[tuple[str, str, Mapping[str, Any] | None]],
    config: BacktestConfig,
    context: StrategyContext | None = None,
    *,
    start: pd.Timestamp | None = None,
) -> Compared:
    """The results behind :func:`compare_strategies`' rows, by label, the benchmark's last."""

    def run(strategy: str, params: Mapping[str, Any] | None, cfg: BacktestConfig, ctx: Any) -> Any:
        if start is None:
            return run_strategy(bars, strategy, params, cfg, ctx)
        return run_strategy_from(bars, start, strategy, params, cfg, ctx)

    labels = [label for label, _, _ in runs]
    if len(set(labels)) != len(labels):
        raise InvalidRequestError("compare_strategies needs distinct labels")
    if BENCHMARK_LABEL in labels:
        raise InvalidRequestError(f"the label {BENCHMARK_LABEL!r} is reserved for buy and hold")
    out: Compared = {}
    for label, strategy, params in runs:
        out[label] = (strategy, dict(params or {}), run(strategy, params, config, context))
    out[BENCHMARK_LABEL] = ("buy_and_hold", {}, run("buy_and_hold", {}, benchmark_config(config), None))
    return out
