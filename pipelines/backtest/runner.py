"""Run a registered strategy: validate its params, compute its targets, backtest them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult, run_backtest
from pipelines.backtest.strategies import StrategyContext, get_strategy, validate_strategy_params

__all__ = ["run_strategy", "strategy_config"]


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
    target = get_strategy(strategy).fn(bars, checked, context)
    return run_backtest(bars, target, strategy_config(strategy, checked, config))
