"""Backtesting: the engine, its fill and cost model, metrics, strategies, comparison, walk-forward.

``run_backtest(bars, target, config)`` trades target exposures decided at each bar's close at the
next bar's open; ``run_strategy`` does so for a registered strategy. The fill and cost formulas live
in :mod:`pipelines.backtest.costs`, shared with the paper broker.
"""

from __future__ import annotations

from pipelines.backtest.compare import BENCHMARK_LABEL, compare_strategies
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.costs import BUY, SELL, commission, entry_units, fill_price
from pipelines.backtest.engine import EXIT_REASONS, BacktestResult, Trades, run_backtest
from pipelines.backtest.metrics import METRIC_NAMES, compute_metrics
from pipelines.backtest.runner import run_strategy
from pipelines.backtest.strategies import (
    ParamSpec,
    RegistrySignals,
    StrategyContext,
    get_strategy,
    list_strategies,
    register_strategy,
    validate_strategy_params,
)
from pipelines.backtest.walk_forward import FoldResult, WalkForwardResult, fold_bounds, walk_forward

__all__ = [
    "BENCHMARK_LABEL",
    "BUY",
    "EXIT_REASONS",
    "METRIC_NAMES",
    "SELL",
    "BacktestConfig",
    "BacktestResult",
    "FoldResult",
    "ParamSpec",
    "RegistrySignals",
    "StrategyContext",
    "Trades",
    "WalkForwardResult",
    "commission",
    "compare_strategies",
    "compute_metrics",
    "entry_units",
    "fill_price",
    "fold_bounds",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "run_backtest",
    "run_strategy",
    "validate_strategy_params",
    "walk_forward",
]
