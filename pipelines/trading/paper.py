"""``PaperBroker``: the :class:`Broker` that fills from bars through the backtester's cost model.

Orders wait in a :class:`PaperBook`; ``on_bar`` (the live runner calls it for each new bar, the
database store for each stored bar it settles) fills them: a market order at the open of the first bar
that starts after it was placed, a limit or stop order in the first such bar that reaches its price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import Fill, OrderRequest, OrderState, OrderStatus, OrderType
from pipelines.trading.records import Bar, Order, OrderPurpose, round_price, round_quantity

__all__ = ["PaperBroker", "state_of"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def state_of(order: Order) -> OrderState:
    fill = None
    if order.status is OrderStatus.FILLED and order.average_price is not None:
        fill = Fill(
            order.id,
            order.client_order_id,
            order.symbol,
            order.side,
            order.filled_quantity,
            order.average_price,
            order.commission,
            order.updated_at or order.created_at,
        )
    return OrderState(order.id, order.client_order_id, order.status, fill, order.reason)


class PaperBroker:
    """Paper trading over an in-memory book; ``clock`` gives the time an order is placed at."""

    name = "paper"

    def __init__(self, book: PaperBook, clock: Callable[[], dt.datetime] = _now) -> None:
        self.book = book
        self.clock = clock

    def submit(self, order: OrderRequest) -> OrderState:
        existing = self.book.find(order.user_id, order.client_order_id)
        if existing is not None:
            return state_of(existing)
        quantity = round_quantity(order.quantity, self.book.costs.lot_size)
        if quantity <= 0:
            raise InvalidRequestError("the quantity must be positive (at least one lot)")
        price = order.price
        if order.order_type is not OrderType.MARKET:
            if price is None or price <= 0:
                raise InvalidRequestError("a limit or stop order needs a positive price")
            price = round_price(price, self.book.costs.tick_size)
        record = Order(
            order.user_id,
            order.client_order_id,
            self.name,
            order.symbol,
            order.side,
            order.order_type,
            quantity,
            price,
            self.clock(),
            purpose=OrderPurpose.ENTRY,
            trade_id=order.trade_id,
        )
        return state_of(self.book.place(record))

    def _owned(self, user_id: str, order_id: str) -> Order:
        order = self.book.orders.get(order_id)
        if order is None or order.user_id != user_id:
            raise DataNotFoundError(f"no order {order_id!r}")
        return order

    def cancel(self, user_id: str, order_id: str) -> OrderState:
        order = self._owned(user_id, order_id)
        self.book.cancel(order, "cancelled by the user", self.clock())
        return state_of(order)

    def order(self, user_id: str, order_id: str) -> OrderState:
        return state_of(self._owned(user_id, order_id))

    def balances(self, user_id: str) -> dict[str, Decimal]:
        return {a.asset: a.balance for a in self.book.accounts.values() if a.user_id == user_id}

    def on_bar(self, symbol: str, bar: Bar) -> list[Fill]:
        """Apply a new bar of ``symbol`` (canonical name): the fills it caused."""
        return self.book.on_bar(symbol, bar)
