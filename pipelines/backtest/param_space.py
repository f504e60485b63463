"""A strategy's parameter space for searches: one range or list of values per parameter, and
constraints between parameters (``fast < slow``), parsed from text safely (no ``eval``).

A range is ``low:high`` or ``low:high:step`` (both ends included; integers for an integer parameter,
the step then defaulting to 1), a list is ``a,b,c``: the sweep's syntax, read by the same parser
(:mod:`pipelines.backtest.param_values`). Constraints are the sweep's
(:func:`pipelines.backtest.sweep_grid.parse_constraint`): ``name op name`` or ``name op number``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from pipelines.backtest.param_values import parse_value_text
from pipelines.backtest.strategies import get_strategy
from pipelines.backtest.sweep_grid import Constraint
from pipelines.backtest.sweep_grid import parse_constraint as parse_grid_constraint
from pipelines.errors import InvalidRequestError

__all__ = [
    "Constraint",
    "Dimension",
    "describe_space",
    "parse_constraint",
    "parse_dimension",
    "parse_space",
]

_MAX_CHOICES = 10_000


@dataclass(frozen=True)
class Dimension:
    """One parameter's values: ``low``..``high`` by ``step`` (None: continuous, floats only), or
    ``choices``."""

    name: str
    kind: type  # int or float
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def distribution(self) -> optuna.distributions.BaseDistribution:
        if self.choices is not None:
            return optuna.distributions.CategoricalDistribution(self.choices)
        if self.kind is int:
            return optuna.distributions.IntDistribution(
                int(self.low), int(self.high), step=int(self.step or 1)
            )
        return optuna.distributions.FloatDistribution(self.low, self.high, step=self.step)

    def sample_value(self) -> Any:
        """A value of the space (its lowest), to check the parameter against the strategy."""
        if self.choices is not None:
            return self.choices[0]
        return int(self.low) if self.kind is int else float(self.low)

    def describe(self) -> dict[str, Any]:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "step": self.step}


def parse_dimension(name: str, text: str, kind: type) -> Dimension:
    """``low:high[:step]`` or ``a,b,c`` (:func:`pipelines.backtest.param_values.parse_value_text`, the
    sweep's syntax) for a parameter of type ``kind`` (int or float): an int range steps by 1 unless
    told, a float range without a step is continuous."""
    if kind not in (int, float):
        raise InvalidRequestError(f"parameter {name!r} is not numeric and cannot be searched")
    parsed = parse_value_text(name, text, kind)
    if parsed.choices is not None:
        if len(parsed.choices) > _MAX_CHOICES:
            raise InvalidRequestError(
                f"parameter {name!r}: at most {_MAX_CHOICES} values, got {len(parsed.choices)}"
            )
        return Dimension(name, kind, choices=parsed.choices)
    low, high = parsed.low, parsed.high
    step = parsed.step if parsed.step is not None else (1 if kind is int else None)
    if step is not None and kind is float and not math.isclose((high - low) / step % 1, 0, abs_tol=1e-9):
        high = low + math.floor((high - low) / step) * step  # Optuna needs whole steps
    return Dimension(name, kind, low, high, step)


def parse_space(strategy: str, ranges: Mapping[str, str]) -> dict[str, Dimension]:
    """``{parameter: range text}`` checked against the strategy's declared parameters."""
    declared = {p.name: p for p in get_strategy(strategy).params}
    unknown = sorted(set(ranges) - set(declared))
    if unknown:
        raise InvalidRequestError(
            f"strategy {strategy!r} has no parameter(s) {', '.join(unknown)}; it has {', '.join(declared)}"
        )
    space = {}
    for name, text in ranges.items():
        dim = parse_dimension(name, text, declared[name].type)
        spec = declared[name]
        ends = dim.choices if dim.choices is not None else (dim.low, dim.high)
        for end in ends:
            spec.check(strategy, end)  # the bounds the strategy declares, as a clear error
        space[name] = dim
    return space


def parse_constraint(text: str, names: Sequence[str]) -> Constraint:
    """``fast < slow`` (the sweep's grammar) between the parameters ``names`` (searched or fixed)."""
    constraint = parse_grid_constraint(text)
    for side in (constraint.left, constraint.right):
        if isinstance(side, str) and side not in names:
            raise InvalidRequestError(
                f"constraint {text!r} names {side!r}, which is not a parameter of the search"
            )
    return constraint


def describe_space(space: Mapping[str, Dimension]) -> dict[str, Any]:
    return {name: dim.describe() for name, dim in space.items()}
