"""Strategies by name: the strategy type, parameter schemas, validation.

A strategy is ``fn(bars, params, context) -> target`` with one target exposure in [-1, 1] per bar,
decided at that bar's close from bars up to and including it (the engine fills it at the next
open). The name -> strategy table is filled once, at import, by ``@register_strategy`` and read-only
afterwards. A strategy is found by its registered name (``ml_predictive``) or by any spelling that
differs from it only in case and underscores (``MLPredictive``, ``SmaCross``): :func:`strategy_name`.
A parameter with ``config_field`` overrides that :class:`BacktestConfig` setting when given
(``ml_predictive``'s ``stop_loss_pct`` is the engine's ``stop_loss``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.errors import InvalidRequestError
from pipelines.features import BarData

__all__ = [
    "ParamSpec",
    "Strategy",
    "StrategyContext",
    "StrategyFn",
    "class_style",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "strategy_name",
    "strategy_spellings",
    "validate_strategy_params",
]

FloatArray = npt.NDArray[np.float64]
_TYPE_NAMES: dict[type, str] = {int: "integer", float: "number", str: "string", bool: "boolean"}


class StrategyContext(Protocol):
    """What a strategy may ask beyond the bars: a registered model's signals."""

    def model_signal(self, model_name: str, bars: pd.DataFrame) -> FloatArray:
        """The model's signal in [-1, 1] for each bar, NaN where it lacks history."""
        ...


StrategyFn = Callable[[pd.DataFrame, dict[str, Any], StrategyContext | None], FloatArray]
# The newest bar's raw target from the bars' arrays alone (the live runner's step, no frame): equal
# to ``fn(...)[-1]`` on the same bars.
LatestFn = Callable[[BarData, dict[str, Any]], float]


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    type: type
    default: Any = None
    required: bool = False
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    config_field: str | None = None

    def check(self, strategy: str, value: Any) -> Any:
        """``value`` coerced to the declared type (an int where a float belongs), or an error."""
        where = f"parameter {self.name!r} of strategy {strategy!r}"
        if value is None:
            if self.required:
                raise InvalidRequestError(f"{where} is required")
            return None
        if self.type is float and isinstance(value, int | np.integer) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, self.type) and not (self.type is not bool and isinstance(value, bool))
        if not ok:
            article = "an" if self.type is int else "a"
            raise InvalidRequestError(f"{where} must be {article} {_TYPE_NAMES[self.type]}, got {value!r}")
        if self.type in (int, float):
            if not math.isfinite(value):
                raise InvalidRequestError(f"{where} must be finite, got {value!r}")
            if self.minimum is not None and value < self.minimum:
                raise InvalidRequestError(f"{where} must be >= {self.minimum}, got {value!r}")
            if self.maximum is not None and value > self.maximum:
                raise InvalidRequestError(f"{where} must be <= {self.maximum}, got {value!r}")
        if self.type is str and not value:
            raise InvalidRequestError(f"{where} must not be empty")
        return value

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": _TYPE_NAMES[self.type],
            "default": self.default,
            "required": self.required,
            "description": self.description,
        }
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    fn: StrategyFn = field(repr=False)
    params: tuple[ParamSpec, ...]
    description: str
    needs_context: bool = False
    accepts_data: bool = False  # the fn takes ``data=BarData`` (the runner's extraction, reused)
    latest: LatestFn | None = field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": [p.describe() for p in self.params],
        }


# Filled once, at import, by the decorators of the strategy modules; read-only after.
_STRATEGIES: dict[str, Strategy] = {}


def register_strategy(
    name: str,
    *,
    params: Sequence[ParamSpec] = (),
    description: str,
    needs_context: bool = False,
    latest: LatestFn | None = None,
) -> Callable[[StrategyFn], StrategyFn]:
    def register(fn: StrategyFn) -> StrategyFn:
        if any(_compact(name) == _compact(known) for known in _STRATEGIES):
            raise ValueError(f"strategy {name!r} is registered twice (names differing in case or _ clash)")
        for p in params:
            if p.type not in _TYPE_NAMES:
                raise TypeError(f"strategy {name!r}: parameter {p.name!r} has unsupported type {p.type}")
            if p.default is not None:
                p.check(name, p.default)
        accepts_data = "data" in inspect.signature(fn).parameters
        _STRATEGIES[name] = Strategy(
            name, fn, tuple(params), description, needs_context, accepts_data, latest
        )
        return fn

    return register


def _compact(name: str) -> str:
    return name.replace("_", "").lower()


def strategy_name(name: str) -> str:
    """The registered name that ``name`` spells (``MLPredictive`` -> ``ml_predictive``), or an error
    listing the available ones."""
    if isinstance(name, str):
        if name in _STRATEGIES:
            return name
        wanted = _compact(name)
        for registered in _STRATEGIES:
            if _compact(registered) == wanted:
                return registered
    raise InvalidRequestError(f"unknown strategy {name!r}; available: {', '.join(sorted(_STRATEGIES))}")


def class_style(name: str) -> str:
    """``ml_predictive`` as ``MLPredictive``, ``sma_cross`` as ``SmaCross`` (short words upper-cased)."""
    return "".join(part.upper() if len(part) <= 2 else part.capitalize() for part in name.split("_"))


def strategy_spellings() -> list[str]:
    """Every registered name and its class-style spelling (what an API schema lists as accepted)."""
    return [spelling for name in sorted(_STRATEGIES) for spelling in (name, class_style(name))]


def get_strategy(name: str) -> Strategy:
    return _STRATEGIES[strategy_name(name)]


def list_strategies() -> list[dict[str, Any]]:
    """The JSON-able schema of every strategy, sorted by name (the API's available strategies)."""
    return [_STRATEGIES[name].describe() for name in sorted(_STRATEGIES)]


def validate_strategy_params(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every parameter of strategy ``name``, defaults filled in; unknown or ill-typed ones raise."""
    strategy = get_strategy(name)
    name = strategy.name
    given = dict(params or {})
    known = {p.name for p in strategy.params}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InvalidRequestError(
            f"strategy {name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {', '.join(sorted(known)) or 'none'}"
        )
    return {p.name: p.check(name, given.get(p.name, p.default)) for p in strategy.params}
