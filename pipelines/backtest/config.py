"""Backtest settings, validated once at construction so the engine can trust them."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError

__all__ = ["BacktestConfig"]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise InvalidRequestError(f"{name} must be finite, got {value!r}")
    return v


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """How a backtest trades and annualizes.

    ``commission`` and ``slippage`` are fractions (0.001 = 10 bp); ``position_size`` the fraction of
    equity committed to a full (+-1) target; ``stop_loss``/``take_profit`` fractions of the entry
    price, None = off. ``timeframe`` and ``crypto`` choose the bars per year used to annualize.
    """

    initial_capital: float = 10_000.0
    commission: float = 0.001
    slippage: float = 0.0
    position_size: float = 1.0
    allow_short: bool = False
    stop_loss: float | None = None
    take_profit: float | None = None
    timeframe: str = "1d"
    crypto: bool = False

    def __post_init__(self) -> None:
        cap = _number("initial_capital", self.initial_capital)
        if cap <= 0.0:
            raise InvalidRequestError(f"initial_capital must be > 0, got {self.initial_capital!r}")
        for name in ("commission", "slippage"):
            v = _number(name, getattr(self, name))
            if not 0.0 <= v < 0.1:
                raise InvalidRequestError(f"{name} must be >= 0 and < 0.1 (a fraction), got {v!r}")
        size = _number("position_size", self.position_size)
        if not 0.0 < size <= 1.0:
            raise InvalidRequestError(f"position_size must be > 0 and <= 1, got {self.position_size!r}")
        for name in ("stop_loss", "take_profit"):
            raw = getattr(self, name)
            if raw is not None:
                v = _number(name, raw)
                if not 0.0 < v < 1.0:
                    raise InvalidRequestError(f"{name} must be > 0 and < 1 (a fraction), got {raw!r}")
        for name in ("allow_short", "crypto"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidRequestError(f"{name} must be a boolean, got {getattr(self, name)!r}")
        if not isinstance(self.timeframe, str):
            raise InvalidRequestError(f"timeframe must be a string, got {self.timeframe!r}")
        object.__setattr__(self, "timeframe", parse_timeframe(self.timeframe).name)

    @property
    def bars_per_year(self) -> float:
        return parse_timeframe(self.timeframe).bars_per_year(crypto=self.crypto)

    def with_overrides(self, **changes: Any) -> BacktestConfig:
        """A copy with ``changes`` applied (and validated); unknown names are rejected."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidRequestError(f"unknown backtest setting(s) {', '.join(unknown)}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
