"""Run a registered strategy: validate its params, compute its targets, backtest them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult, run_backtest
from pipelines.backtest.strategies import StrategyContext, get_strategy, validate_strategy_params
from pipelines.errors import InvalidRequestError
from pipelines.features import BarData

__all__ = ["run_strategy", "run_strategy_from", "strategy_config"]


def strategy_config(name: str, params: Mapping[str, Any], config: BacktestConfig) -> BacktestConfig:
    """``config`` with the settings that the strategy's given params override (``config_field``)."""
    overrides = {
        p.config_field: params[p.name]
        for p in get_strategy(name).params
        if p.config_field is not None and params.get(p.name) is not None
    }
    return config.with_overrides(**overrides) if overrides else config


def run_strategy(
    bars: pd.DataFrame,
    strategy: str,
    params: Mapping[str, Any] | None,
    config: BacktestConfig,
    context: StrategyContext | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` with ``params`` (validated, defaults filled in) over ``bars``."""
    checked = validate_strategy_params(strategy, params)
    strat = get_strategy(strategy)
    if not strat.accepts_data:
        return run_backtest(
            bars, strat.fn(bars, checked, context), strategy_config(strategy, checked, config)
        )
    # One pass through pandas for the strategy's indicators and the engine's prices alike.
    data = BarData.from_frame(bars)
    fn: Any = strat.fn  # registered with an extra ``data`` keyword (``Strategy.accepts_data``)
    target = fn(bars, checked, context, data=data)
    return run_backtest(bars, target, strategy_config(strategy, checked, config), data=data)


def run_strategy_from(
    bars: pd.DataFrame,
    start: pd.Timestamp,
    strategy: str,
    params: Mapping[str, Any] | None,
    config: BacktestConfig,
    context: Any = None,
) -> BacktestResult:
    """Targets computed over all of ``bars`` (history warms the indicators), traded from ``start``."""
    checked = validate_strategy_params(strategy, params)
    target = np.asarray(get_strategy(strategy).fn(bars, checked, context), dtype=np.float64)
    keep = np.asarray(pd.DatetimeIndex(bars["timestamp"]) >= start)
    if keep.sum() < 2:
        raise InvalidRequestError(f"only {int(keep.sum())} bar(s) from {start.date()}: nothing to trade")
    traded = bars.loc[keep].reset_index(drop=True)
    return run_backtest(traded, target[keep], strategy_config(strategy, checked, config))
