"""One fill of one order in one bar, through the backtester's cost model (float arithmetic, stored as
the exact decimal of each float), and the stop-loss/take-profit check of an open trade."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from pipelines.backtest.costs import BUY, SELL, commission, fill_price, limit_fill, stop_fill
from pipelines.trading.broker import OrderType, Side
from pipelines.trading.records import Bar, Order, Trade

__all__ = ["CostModel", "Priced", "exit_in_bar", "fill_in_bar", "priced"]


@dataclass(frozen=True, slots=True)
class CostModel:
    """Commission and slippage as fractions; lot and tick sizes (0: no rounding)."""

    commission: float = 0.001
    slippage: float = 0.0
    lot_size: Decimal = Decimal(0)
    tick_size: Decimal = Decimal(0)


class Priced(NamedTuple):
    """A fill's price after slippage and its commission on ``quantity`` (a tuple: one per fill)."""

    price: Decimal
    commission: Decimal


def _side(side: Side) -> int:
    return BUY if side is Side.BUY else SELL


def priced(costs: CostModel, side: Side, raw: float, quantity: Decimal) -> Priced:
    """``raw`` (before slippage) filled: the cost model's price and fee, as exact decimals."""
    fill = fill_price(BUY if side is Side.BUY else SELL, raw, costs.slippage)
    fee = commission(float(quantity) * fill, costs.commission)
    return Priced(Decimal(repr(fill)), Decimal(repr(fee)))  # ``exact``, both already floats


def fill_in_bar(costs: CostModel, order: Order, bar: Bar) -> Priced | None:
    """Where ``order`` fills in ``bar``, or None when it does not: a market order at the open, a limit
    or stop order when the bar's range reaches its price (see the cost model)."""
    kind = order.order_type
    if kind is OrderType.MARKET:
        return priced(costs, order.side, bar.open, order.quantity)
    if order.price is None:
        return None
    side = BUY if order.side is Side.BUY else SELL
    if kind is OrderType.LIMIT:
        raw = limit_fill(side, float(order.price), bar.open, bar.high, bar.low)
    else:
        raw = stop_fill(side, float(order.price), bar.open, bar.high, bar.low)
    if math.isnan(raw):
        return None
    return priced(costs, order.side, raw, order.quantity)


def exit_in_bar(trade: Trade, bar: Bar) -> tuple[str, float] | None:
    """(reason, price before slippage) of the stop-loss or take-profit ``bar`` touches, the stop first
    when both are (the backtest's intrabar rule); None when neither is."""
    out = _side(trade.side.exit)
    if trade.stop_loss is not None:
        raw = stop_fill(out, float(trade.stop_loss), bar.open, bar.high, bar.low)
        if not math.isnan(raw):
            return "stop_loss", raw
    if trade.take_profit is not None:
        raw = limit_fill(out, float(trade.take_profit), bar.open, bar.high, bar.low)
        if not math.isnan(raw):
            return "take_profit", raw
    return None
