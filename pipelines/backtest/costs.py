"""The one fill and cost model, shared by the backtest engine and the paper broker.

Every function is plain float arithmetic so the numba kernel compiles these very functions
(``njit(fill_price)``): backtest and paper trading cannot drift apart. ``side`` is ``BUY`` (+1) or
``SELL`` (-1).
"""

from __future__ import annotations

__all__ = ["BUY", "SELL", "commission", "entry_units", "fill_price", "limit_fill", "stop_fill"]

BUY = 1
SELL = -1


def fill_price(side: int, price: float, slippage: float) -> float:
    """The price a market order fills at: ``slippage`` (a fraction) against the trader."""
    if side == BUY:
        return price * (1.0 + slippage)
    return price * (1.0 - slippage)


def commission(notional: float, rate: float) -> float:
    """The fee on one fill: ``rate`` times the traded notional (fill price times units)."""
    return abs(notional) * rate


def entry_units(budget: float, fill: float, rate: float) -> float:
    """Units to trade so that notional plus commission spend exactly ``budget`` (never more cash
    than committed, so a 100% long needs no borrowing)."""
    return budget / (fill * (1.0 + rate))


def limit_fill(side: int, limit: float, open_: float, high: float, low: float) -> float:
    """Where a limit order fills in a bar (before slippage), or NaN when the bar does not reach it: a
    buy when the low trades at or below the limit, a sell when the high trades at or above it, at the
    better of the limit and the open (a bar that opens through the limit fills at its open)."""
    if side == BUY:
        return min(limit, open_) if low <= limit else float("nan")
    return max(limit, open_) if high >= limit else float("nan")


def stop_fill(side: int, stop: float, open_: float, high: float, low: float) -> float:
    """Where a stop order fills in a bar (before slippage), or NaN when the bar does not reach it: a
    buy stop when the high trades at or above the stop, a sell stop when the low trades at or below
    it, at the worse of the stop and the open (a bar that gaps through the stop fills at its open)."""
    if side == BUY:
        return max(stop, open_) if high >= stop else float("nan")
    return min(stop, open_) if low <= stop else float("nan")
