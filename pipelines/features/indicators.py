"""Indicators and their table by name, column naming, and feature sets.

An indicator is a function ``f(bars: BarData, out: list[array], **params) -> None`` registered with
:func:`indicator`: it writes each of its outputs, warm-up NaNs included, into the preallocated
``out`` arrays (in the final feature block, so nothing is copied afterwards). Its parameters, their
defaults and their order come from its signature.
Columns are named ``{output}_{params}``: ``macd_signal_12_26_9``, ``psar_0p02_0p2``, or the bare
output name when the indicator takes no parameters (``obv``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, TypeVar, get_args

import numpy as np

from pipelines.errors import InvalidRequestError
from pipelines.features._kernels import FloatArray
from pipelines.features.inputs import BarData

__all__ = [
    "CATEGORIES",
    "Category",
    "FeatureSet",
    "Indicator",
    "IndicatorSpec",
    "ParamValue",
    "PlannedIndicator",
    "format_param",
    "get_indicator",
    "indicator",
    "list_indicators",
]

Category: TypeAlias = Literal["trend", "momentum", "volatility", "volume", "returns", "calendar"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
ParamValue: TypeAlias = int | float
Outputs: TypeAlias = list[FloatArray]
IndicatorFunc: TypeAlias = Callable[..., None]
Namer: TypeAlias = Callable[[Mapping[str, ParamValue]], list[str]]
F = TypeVar("F", bound=IndicatorFunc)

# Filled once, at import, by the @indicator decorators of the indicator modules; read-only after.
_INDICATORS: dict[str, Indicator] = {}


def format_param(value: ParamValue) -> str:
    """``20`` -> ``20``, ``2.0`` -> ``2``, ``0.02`` -> ``0p02`` (no trailing zeros, '.' -> 'p')."""
    if isinstance(value, int):
        return str(value)
    text = np.format_float_positional(value, trim="-")
    return text.replace(".", "p").replace("-", "m").lower()


@dataclass(frozen=True, slots=True, eq=False)
class Indicator:
    """A registered indicator: metadata plus the function that computes it (compared by identity)."""

    name: str
    category: Category
    description: str
    params: Mapping[str, ParamValue]
    outputs: tuple[str, ...]
    func: IndicatorFunc = field(repr=False, compare=False)
    minimums: Mapping[str, ParamValue] = field(default_factory=dict, repr=False, compare=False)
    namer: Namer | None = field(default=None, repr=False, compare=False)

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, ParamValue]:
        """The full parameter dict in signature order: defaults filled in, types and ranges checked."""
        given = dict(params or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise InvalidRequestError(
                f"indicator {self.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are {', '.join(self.params) or 'none'}"
            )
        resolved: dict[str, ParamValue] = {}
        for key, default in self.params.items():
            value = given.get(key, default)
            resolved[key] = _coerce(self.name, key, value, integer=isinstance(default, int))
            low = self.minimums.get(key)
            got = resolved[key]
            if isinstance(default, int):
                bound = 1 if low is None else low
                if got < bound:
                    raise InvalidRequestError(
                        f"parameter {key!r} of indicator {self.name!r} must be >= {bound}, got {value!r}"
                    )
            elif got <= 0.0 or (low is not None and got < low):
                raise InvalidRequestError(
                    f"parameter {key!r} of indicator {self.name!r} must be > 0"
                    f"{'' if low is None else f' and >= {low}'}, got {value!r}"
                )
        return resolved

    def columns(self, params: Mapping[str, Any] | None = None) -> list[str]:
        resolved = self.resolve(params)
        if self.namer is not None:
            return self.namer(resolved)
        suffix = "_".join(format_param(v) for v in resolved.values())
        return [f"{out}_{suffix}" if suffix else out for out in self.outputs]

    def compute(
        self, bars: BarData, params: Mapping[str, Any] | None = None, out: Outputs | None = None
    ) -> Outputs:
        """The indicator's output arrays, written into ``out`` (one array per column) when given."""
        resolved = self.resolve(params)
        n_out = len(self.outputs) if self.namer is None else len(self.namer(resolved))
        if out is None:
            out = [np.empty(len(bars)) for _ in range(n_out)]
        elif len(out) != n_out:
            raise ValueError(f"indicator {self.name!r} has {n_out} outputs, got {len(out)} arrays")
        self.func(bars, out, **resolved)
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-friendly metadata (for the API and the CLI)."""
        return {
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "params": dict(self.params),
            "outputs": list(self.outputs),
            "columns": self.columns(),
        }


def _coerce(name: str, key: str, value: Any, *, integer: bool) -> ParamValue:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidRequestError(f"parameter {key!r} of indicator {name!r} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidRequestError(f"parameter {key!r} of indicator {name!r} must be finite, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise InvalidRequestError(
                f"parameter {key!r} of indicator {name!r} must be an integer, got {value!r}"
            )
        return int(value)
    return float(value)


def indicator(
    name: str,
    *,
    category: Category,
    description: str,
    outputs: Iterable[str] | None = None,
    minimums: Mapping[str, ParamValue] | None = None,
    namer: Namer | None = None,
) -> Callable[[F], F]:
    """Register ``func(bars, out, **params)`` under ``name``; every param needs an int/float default."""

    def register(func: F) -> F:
        if name in _INDICATORS:
            raise ValueError(f"indicator {name!r} is registered twice")
        if category not in CATEGORIES:
            raise ValueError(f"indicator {name!r}: unknown category {category!r}")
        params: dict[str, ParamValue] = {}
        for param in list(inspect.signature(func).parameters.values())[2:]:
            default = param.default
            if isinstance(default, bool) or not isinstance(default, int | float):
                raise TypeError(f"indicator {name!r}: parameter {param.name!r} needs an int or float default")
            params[param.name] = default
        _INDICATORS[name] = Indicator(
            name=name,
            category=category,
            description=description,
            params=MappingProxyType(params),
            outputs=tuple(outputs) if outputs is not None else (name,),
            func=func,
            minimums=MappingProxyType(dict(minimums or {})),
            namer=namer,
        )
        return func

    return register


def get_indicator(name: str) -> Indicator:
    try:
        return _INDICATORS[name]
    except KeyError:
        raise InvalidRequestError(
            f"unknown indicator {name!r}; known indicators: {', '.join(sorted(_INDICATORS))}"
        ) from None


def list_indicators(category: str | None = None) -> list[Indicator]:
    """Every registered indicator (optionally of one category), sorted by category then name."""
    if category is not None and category not in CATEGORIES:
        raise InvalidRequestError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    found = [ind for ind in _INDICATORS.values() if category is None or ind.category == category]
    return sorted(found, key=lambda ind: (CATEGORIES.index(ind.category), ind.name))


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One indicator with (some of) its parameters; missing ones take their defaults."""

    indicator_name: str
    params: Mapping[str, ParamValue] = field(default_factory=dict, hash=False)

    @property
    def indicator(self) -> Indicator:
        return get_indicator(self.indicator_name)

    @property
    def columns(self) -> list[str]:
        return self.indicator.columns(self.params)


@dataclass(frozen=True, slots=True)
class PlannedIndicator:
    """One indicator of a feature set, resolved once: its function, full parameters and width."""

    func: IndicatorFunc
    params: Mapping[str, ParamValue]
    width: int


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """A named list of indicator specs; validated when built (unknown names, bad params, clashes).

    Parameters and column names are resolved once here (``plan``, ``columns``), so computing a set
    costs only the indicator kernels: that per-call overhead is what a live update pays per bar.
    """

    name: str
    indicators: Sequence[IndicatorSpec]  # stored as a tuple
    plan: tuple[PlannedIndicator, ...] = field(init=False, repr=False, compare=False)
    _columns: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        specs = tuple(self.indicators)
        object.__setattr__(self, "indicators", specs)
        seen: dict[str, None] = {}
        plan: list[PlannedIndicator] = []
        for spec in specs:
            ind = spec.indicator
            params = MappingProxyType(ind.resolve(spec.params))
            columns = ind.columns(params)
            for col in columns:
                if col in seen or col == "timestamp":
                    raise InvalidRequestError(f"feature set {self.name!r} produces column {col!r} twice")
                seen[col] = None
            plan.append(PlannedIndicator(ind.func, params, len(columns)))
        object.__setattr__(self, "plan", tuple(plan))
        object.__setattr__(self, "_columns", tuple(seen))

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def subset(self, columns: Iterable[str]) -> FeatureSet:
        """The indicators of this set that produce any of ``columns`` (the set itself when that is all).

        A subset computes the same values for its columns, in less time. Its name records which
        indicators it keeps (``default[5fe3...]``: a bit per indicator), so caches keep it apart.
        """
        wanted = set(columns)
        unknown = sorted(wanted.difference(self._columns))
        if unknown:
            raise InvalidRequestError(f"feature set {self.name!r} has no column(s) {', '.join(unknown[:5])}")
        keep: list[IndicatorSpec] = []
        mask, row = 0, 0
        for i, (spec, step) in enumerate(zip(self.indicators, self.plan, strict=True)):
            if wanted.intersection(self._columns[row : row + step.width]):
                keep.append(spec)
                mask |= 1 << i
            row += step.width
        if len(keep) == len(self.plan):
            return self
        return FeatureSet(f"{self.name}[{mask:x}]", keep)
