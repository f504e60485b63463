"""What every broker takes and gives back: order requests, order states and fills.

``PaperBroker`` (the default, fills from stored and live bars through the backtester's cost model)
and ``ExchangeBroker`` (ccxt) both implement :class:`Broker`, so the strategy runner, the trade
routes and the sync job never know which one they talk to. Quantities and prices are ``Decimal``;
a paper fill's price is the exact decimal of the float the cost model computed, so converting it
back with ``float()`` gives that float again (backtest/paper parity depends on it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = ["NO_POSITION", "Broker", "Fill", "OrderRequest", "OrderState", "OrderStatus", "OrderType", "Side"]

# A strategy leg's rejection when the broker holds no position of the strategy (flat there already).
NO_POSITION = "the strategy holds no open trade in this symbol"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"  # the next bar's open (slippage against the trader)
    LIMIT = "limit"  # when a bar trades through the price: the better of the limit and the open
    STOP = "stop"  # when a bar trades through the price: the worse of the stop and the open


class OrderStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order. ``client_order_id`` is the idempotency key, unique per user: submitting the same
    id twice returns the first order's state and never places a second order."""

    user_id: str
    symbol: str
    side: Side
    quantity: Decimal
    client_order_id: str
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None  # the limit or stop price; None for market orders
    trade_id: str | None = None  # the trade this order adds to or closes (None: it opens a new one)
    strategy_id: str | None = None  # the live strategy placing it (kept on the trade it opens)


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal  # after slippage
    commission: Decimal
    timestamp: dt.datetime  # the bar's open time (UTC) it filled in


@dataclass(frozen=True, slots=True)
class OrderState:
    order_id: str
    client_order_id: str
    status: OrderStatus
    fill: Fill | None = None
    reason: str | None = None  # why it was rejected or cancelled


@runtime_checkable
class Broker(Protocol):
    """A venue that takes orders. ``submit`` is idempotent on (user, client_order_id)."""

    name: str

    def submit(self, order: OrderRequest) -> OrderState: ...

    def cancel(self, user_id: str, order_id: str) -> OrderState: ...

    def order(self, user_id: str, order_id: str) -> OrderState: ...

    def balances(self, user_id: str) -> dict[str, Decimal]: ...
