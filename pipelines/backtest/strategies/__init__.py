"""Strategies: the lookup by name and the built-in ones (importing this package registers them)."""

from __future__ import annotations

from pipelines.backtest.strategies import technical  # noqa: F401  (registers the built-ins)
from pipelines.backtest.strategies.lookup import (
    ParamSpec,
    Strategy,
    StrategyContext,
    StrategyFn,
    class_style,
    get_strategy,
    list_strategies,
    register_strategy,
    strategy_name,
    strategy_spellings,
    validate_strategy_params,
)
from pipelines.backtest.strategies.ml import (
    RegistrySignals,
    ml_predictive,
    model_outputs,
    model_signal,
    signal_targets,
)

__all__ = [
    "ParamSpec",
    "RegistrySignals",
    "Strategy",
    "StrategyContext",
    "StrategyFn",
    "class_style",
    "get_strategy",
    "list_strategies",
    "ml_predictive",
    "model_outputs",
    "model_signal",
    "register_strategy",
    "signal_targets",
    "strategy_name",
    "strategy_spellings",
    "validate_strategy_params",
]
