"""What a configured live strategy is: its type, symbols, timeframe, broker, capital, costs and
the strategy's own parameters, checked once so everything stored can run.

``params`` of a stored strategy mixes the run settings (``RUN_KEYS``) with the strategy's own
parameters, as the API takes them; :func:`checked_spec` splits, validates and normalises them
(canonical symbols, defaults filled in) and :func:`runner_configs` turns a stored one into one
:class:`~pipelines.trading.runner.RunnerConfig` per symbol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.runner import strategy_config
from pipelines.backtest.strategies import get_strategy, strategy_name, validate_strategy_params
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.trading.runner import RunnerConfig

__all__ = [
    "BROKERS",
    "COST_KEYS",
    "MAX_NAME_LENGTH",
    "MAX_SYMBOLS",
    "RUN_KEYS",
    "StrategySpec",
    "checked_name",
    "checked_spec",
    "runner_configs",
]

MAX_SYMBOLS = 100
MAX_NAME_LENGTH = 200
BROKERS = ("paper",)
DEFAULT_CAPITAL = Decimal("10000")
# Engine settings a strategy may set (fractions; see BacktestConfig).
COST_KEYS = ("commission", "slippage", "position_size", "allow_short", "stop_loss", "take_profit")
RUN_KEYS = ("symbols", "timeframe", "broker", "capital", *COST_KEYS)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    type: str  # the registered name
    params: dict[str, Any]  # normalised: run settings and the strategy's own parameters


def checked_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError("name must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"name must be at most {MAX_NAME_LENGTH} characters")
    return name.strip()


def _symbols(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise InvalidRequestError("params.symbols must be a non-empty list of symbols")
    if len(raw) > MAX_SYMBOLS:
        raise InvalidRequestError(f"params.symbols holds {len(raw)} symbols; at most {MAX_SYMBOLS}")
    names: list[str] = []
    for item in raw:
        name = parse_symbol(item).name  # InvalidSymbolError (400) names the bad one
        if name not in names:
            names.append(name)
    return names


def _capital(raw: Any) -> str:
    if raw is None:
        return str(DEFAULT_CAPITAL)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidRequestError(f"params.capital must be a number, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise InvalidRequestError(f"params.capital must be a number, got {raw!r}") from None
    if not value.is_finite() or value <= 0 or not math.isfinite(float(value)):
        raise InvalidRequestError(f"params.capital must be a finite number > 0, got {raw!r}")
    return str(value)


def _split(name: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the strategy's own parameters, the engine settings); a name both declare is the strategy's
    (``ml_predictive``'s ``position_size`` overrides the engine's through its ``config_field``)."""
    declared = {p.name for p in get_strategy(name).params}
    own = {key: value for key, value in params.items() if key not in RUN_KEYS or key in declared}
    costs = {key: params[key] for key in COST_KEYS if key in params and key not in declared}
    return own, costs


def _costs(costs: dict[str, Any]) -> dict[str, Any]:
    try:
        BacktestConfig(**costs)  # validated with the engine's own rules
    except TypeError as exc:
        raise InvalidRequestError(str(exc)) from None
    return costs


def checked_spec(type_: Any, params: Any) -> StrategySpec:
    """The strategy ``type_`` (any spelling the registry accepts) with ``params`` validated."""
    if not isinstance(type_, str):
        raise InvalidRequestError("type must be a strategy name")
    name = strategy_name(type_)
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise InvalidRequestError("params must be an object")
    broker = params.get("broker", "paper")
    if broker not in BROKERS:
        raise InvalidRequestError(f"params.broker must be one of {', '.join(BROKERS)}, got {broker!r}")
    timeframe = params.get("timeframe", "1m")
    if not isinstance(timeframe, str):
        raise InvalidRequestError(f"params.timeframe must be a string such as 1m, got {timeframe!r}")
    own, costs = _split(name, params)
    checked_own = validate_strategy_params(name, own)
    _try_on_bars(name, checked_own)
    normalised = {
        "symbols": _symbols(params.get("symbols")),
        "timeframe": parse_timeframe(timeframe).name,
        "broker": broker,
        "capital": _capital(params.get("capital")),
        **_costs(costs),
        **checked_own,
    }
    return StrategySpec(name, normalised)


def _try_on_bars(name: str, params: dict[str, Any]) -> None:
    """Run the strategy once on a few flat bars, so parameters it refuses only in combination
    (``sma_cross`` with fast >= slow) are refused now, not when it first trades."""
    strategy = get_strategy(name)
    if strategy.needs_context:
        return
    bars = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=3, freq="min", tz="UTC"),
            **{column: [1.0, 1.0, 1.0] for column in ("open", "high", "low", "close", "volume")},
        }
    )
    strategy.fn(bars, params, None)


def runner_configs(
    strategy_id: str, user_id: str, type_: str, params: Mapping[str, Any]
) -> list[RunnerConfig]:
    """One runner per symbol of a stored strategy; each symbol's sleeve starts with the capital."""
    own, costs = _split(type_, params)
    base = BacktestConfig(
        initial_capital=float(Decimal(params["capital"])), timeframe=params["timeframe"], **costs
    )
    config = strategy_config(type_, own, base)
    return [
        RunnerConfig(strategy_id, user_id, symbol, type_, dict(own), config) for symbol in params["symbols"]
    ]
