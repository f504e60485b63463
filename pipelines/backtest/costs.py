"""The one fill and cost model, shared by the backtest engine and the paper broker.

Every function is plain float arithmetic so the numba kernel compiles these very functions
(``njit(fill_price)``): backtest and paper trading cannot drift apart. ``side`` is ``BUY`` (+1) or
``SELL`` (-1).
"""

from __future__ import annotations

__all__ = ["BUY", "SELL", "commission", "entry_units", "fill_price"]

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
