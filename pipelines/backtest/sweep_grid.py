"""The combinations a parameter sweep runs: each swept parameter's values, the constraints between
them, a seeded random sample, all checked against the strategy's parameter schema and bounded.

A parameter's values are a list (``[5, 10, 20]``) or a string, read as optimization reads it
(:mod:`pipelines.backtest.param_values`): ``start:stop:step`` (both ends included, ``5:100:1`` is 5,
6, ..., 100; the step defaults to 1) or a comma list (``5,10,20``). A constraint compares two
operands, each a parameter name or a number, with one of ``< <= > >= == !=`` (``fast<slow``,
``period >= 10``); it is parsed, never evaluated as code.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.backtest.param_values import ValueText, parse_value_text
from pipelines.backtest.strategies import get_strategy, validate_strategy_params
from pipelines.errors import InvalidRequestError

__all__ = ["Constraint", "Grid", "build_grid", "parse_constraint", "parse_values"]

FloatArray = npt.NDArray[np.float64]
GridSpec = Mapping[str, Any]
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_CONSTRAINT = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*|[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(<=|>=|==|!=|<|>)\s*"
    r"([A-Za-z_][A-Za-z0-9_]*|[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$"
)
# The cartesian product is enumerated before the constraints filter it: at most this many times the
# combination limit, so a grid that constraints would cut to size still cannot exhaust memory.
RAW_FACTOR = 20
MAX_VALUES_PER_PARAM = 100_000


@dataclass(frozen=True)
class Constraint:
    """``left op right``: each side a parameter name (str) or a number (float)."""

    left: str | float
    op: str
    right: str | float

    def __str__(self) -> str:
        return f"{_fmt(self.left)} {self.op} {_fmt(self.right)}"

    @property
    def text(self) -> str:
        return str(self)

    def holds(self, params: Mapping[str, Any]) -> bool:
        """Whether one combination of ``params`` (name -> value) satisfies it."""
        left = params[self.left] if isinstance(self.left, str) else self.left
        right = params[self.right] if isinstance(self.right, str) else self.right
        return bool(_OPS[self.op](left, right))


def _fmt(side: str | float) -> str:
    return side if isinstance(side, str) else format(side, "g")


def _operand(text: str) -> str | float:
    if text[0].isalpha() or text[0] == "_":
        return text
    try:
        value = float(text)
    except ValueError:
        raise InvalidRequestError(
            f"constraint operand {text!r} is neither a parameter nor a number"
        ) from None
    return value


def parse_constraint(text: str | Constraint) -> Constraint:
    """``"fast<slow"`` as a :class:`Constraint`, or a clear error."""
    if isinstance(text, Constraint):
        return text
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidRequestError(
            f"constraint {text!r} must be 'a OP b' with a and b parameter names or numbers and OP one of "
            "<, <=, >, >=, ==, != (for example 'fast<slow')"
        )
    return Constraint(_operand(match[1]), match[2], _operand(match[3]))


def _range(name: str, text: str, spec: ValueText) -> list[float]:
    """Every value of a range: ``low``, ``low + step``, ... up to ``high`` (a missing step is 1)."""
    start, stop, step = spec.low, spec.high, 1.0 if spec.step is None else spec.step
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_VALUES_PER_PARAM:
        raise InvalidRequestError(
            f"parameter {name!r}: range {text!r} has {count:,} values, over {MAX_VALUES_PER_PARAM:,}"
        )
    # Rounded to the step's decimals, so 0.1 steps give 1.5, not 1.5000000000000002.
    decimals = max(0, -math.floor(math.log10(step))) + 6 if step < 1 else 9
    return [round(start + i * step, decimals) for i in range(count)]


def parse_values(name: str, spec: Any) -> list[Any]:
    """The values of one swept parameter, from a list or a text (:mod:`pipelines.backtest.param_values`:
    ``start:stop:step``, every value of it run, or ``v1,v2``)."""
    if isinstance(spec, str):
        parsed = parse_value_text(name, spec)
        return _range(name, spec.strip(), parsed) if parsed.choices is None else list(parsed.choices)
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return [spec]
    if isinstance(spec, Sequence) and spec:
        return list(spec)
    raise InvalidRequestError(f"parameter {name!r}: give a list of values or 'start:stop:step', got {spec!r}")


def _typed(strategy: str, name: str, values: list[Any]) -> list[Any]:
    """Each value checked by the strategy's schema; whole floats become ints for an int parameter."""
    spec = next(p for p in get_strategy(strategy).params if p.name == name)
    out = []
    for value in values:
        if spec.type is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        out.append(spec.check(strategy, value))
    return list(dict.fromkeys(out))  # distinct, first-seen order, in linear time


@dataclass(frozen=True)
class Grid:
    """The combinations to run: ``values[:, j]`` holds parameter ``names[j]`` for every combination;
    ``fixed`` the parameters not swept. ``grid_size`` counts the full product, ``feasible`` those the
    constraints keep (before any sample)."""

    strategy: str
    names: tuple[str, ...]
    values: FloatArray
    is_int: tuple[bool, ...]
    fixed: dict[str, Any]
    constraints: tuple[Constraint, ...]
    grid_size: int
    feasible: int

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def params(self, row: int) -> dict[str, Any]:
        """Every parameter of combination ``row`` (swept and fixed), with the schema's types."""
        swept = {
            name: int(v) if is_int else float(v)
            for name, v, is_int in zip(self.names, self.values[row], self.is_int, strict=True)
        }
        return {**self.fixed, **swept}

    def column(self, name: str) -> FloatArray:
        if name in self.names:
            col: FloatArray = self.values[:, self.names.index(name)]
            return col
        return np.full(len(self), float(self.fixed[name]))


def _side(side: str | float, columns: Mapping[str, FloatArray], fixed: Mapping[str, Any]) -> Any:
    if not isinstance(side, str):
        return side
    if side in columns:
        return columns[side]
    value = fixed[side]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(f"constraint on {side!r}: only numeric parameters can be compared")
    return float(value)


def _product(names: list[str], lists: list[list[Any]]) -> FloatArray:
    grids = np.meshgrid(*[np.asarray(v, dtype=np.float64) for v in lists], indexing="ij")
    return np.column_stack([g.ravel() for g in grids]) if names else np.empty((1, 0))


def _check_names(strategy: str, grid: GridSpec, constraints: Sequence[Constraint]) -> list[str]:
    known = [p.name for p in get_strategy(strategy).params]
    unknown = sorted(set(grid) - set(known))
    if unknown:
        raise InvalidRequestError(
            f"strategy {strategy!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {', '.join(known) or 'none'}"
        )
    for c in constraints:
        for side in (c.left, c.right):
            if isinstance(side, str) and side not in known:
                raise InvalidRequestError(
                    f"constraint {str(c)!r} names {side!r}, not a parameter of {strategy!r} "
                    f"({', '.join(known) or 'none'})"
                )
    if not grid:
        raise InvalidRequestError("a sweep needs at least one parameter to vary")
    return [name for name in known if name in grid]


def _filtered(
    names: list[str], lists: list[list[Any]], constraints: Sequence[Constraint], base: Mapping[str, Any]
) -> FloatArray:
    """The product of the value lists, one row per combination, less those a constraint excludes."""
    for name, values in zip(names, lists, strict=True):
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise InvalidRequestError(f"parameter {name!r} is not numeric and cannot be swept")
    combos = _product(names, lists)
    columns = {name: combos[:, j] for j, name in enumerate(names)}
    keep: npt.NDArray[np.bool_] = np.ones(combos.shape[0], dtype=np.bool_)
    for c in constraints:
        keep &= np.asarray(
            _OPS[c.op](_side(c.left, columns, base), _side(c.right, columns, base)), dtype=np.bool_
        )
    kept: FloatArray = combos[keep]
    return kept


def _sampled(combos: FloatArray, sample: int | None, seed: int | None) -> FloatArray:
    """``sample`` rows drawn with ``seed`` (kept in grid order), or all of them."""
    if sample is None:
        return combos
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise InvalidRequestError(f"sample must be a whole number >= 1, got {sample!r}")
    if sample >= combos.shape[0]:
        return combos
    rng = np.random.default_rng(seed)
    picked: FloatArray = combos[np.sort(rng.choice(combos.shape[0], size=sample, replace=False))]
    return picked


def build_grid(
    strategy: str,
    grid: GridSpec,
    *,
    fixed: Mapping[str, Any] | None = None,
    constraints: Sequence[str | Constraint] = (),
    sample: int | None = None,
    seed: int | None = None,
    max_combinations: int,
) -> Grid:
    """The combinations of ``grid`` that satisfy every constraint (a seeded sample of ``sample`` of
    them when given), refused when more than ``max_combinations`` would run."""
    strategy = get_strategy(strategy).name
    parsed = tuple(parse_constraint(c) for c in constraints)
    names = _check_names(strategy, grid, parsed)
    base = validate_strategy_params(strategy, {k: v for k, v in (fixed or {}).items() if k not in grid})
    lists = [_typed(strategy, name, parse_values(name, grid[name])) for name in names]
    grid_size = math.prod(len(v) for v in lists)
    if grid_size > max_combinations * RAW_FACTOR:
        raise InvalidRequestError(
            f"the grid has {grid_size:,} combinations before constraints, over the limit of "
            f"{max_combinations * RAW_FACTOR:,} ({RAW_FACTOR}x sweep_max_combinations); narrow the ranges"
        )
    combos = _filtered(names, lists, parsed, base)
    feasible = int(combos.shape[0])
    combos = _sampled(combos, sample, seed)
    if combos.shape[0] == 0:
        raise InvalidRequestError("no combination satisfies the constraints")
    if combos.shape[0] > max_combinations:
        raise InvalidRequestError(
            f"the sweep has {combos.shape[0]:,} combinations, over the limit of {max_combinations:,} "
            "(sweep_max_combinations); narrow the ranges, add constraints or --sample fewer"
        )
    spec = {p.name: p for p in get_strategy(strategy).params}
    is_int = tuple(spec[name].type is int for name in names)
    fixed_out = {k: v for k, v in base.items() if k not in grid}
    return Grid(
        strategy, tuple(names), np.ascontiguousarray(combos), is_int, fixed_out, parsed, grid_size, feasible
    )
