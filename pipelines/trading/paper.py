"""``PaperBroker``: the :class:`Broker` that fills from bars through the backtester's cost model.

Orders wait in a :class:`PaperBook`; ``on_bar`` (the database store calls it for each stored bar it
settles) fills them: a market order at the open of the first bar that starts after it was placed, a
limit or stop order in the first such bar that reaches its price. A strategy's leg is planned once its
bar's open is known and sized at that open, so :meth:`PaperBroker.submit_at` fills it in that very bar.

An order without ``trade_id`` opens a new trade; one naming an open trade closes it (all or a part)
when it is on the trade's exit side, else adds to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import Fill, OrderRequest, OrderState, OrderStatus, OrderType, Side
from pipelines.trading.errors import TradeNotFoundError
from pipelines.trading.records import (
    Bar,
    Order,
    OrderPurpose,
    Trade,
    TradeSide,
    round_price,
    round_quantity,
)

__all__ = ["EXIT_REASONS", "PaperBroker", "order_records", "state_of"]

EXIT_REASONS = {OrderType.STOP: "stop_loss", OrderType.LIMIT: "take_profit", OrderType.MARKET: "exit"}


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


def order_records(
    book: PaperBook, order: OrderRequest, at: dt.datetime, broker: str = "paper"
) -> tuple[Order, Trade | None]:
    """The order record of ``order`` placed at ``at`` and the trade it opens (None when it names one:
    an exit on that trade's exit side, else an addition). Refused (raised) before anything is held."""
    quantity = round_quantity(order.quantity, book.costs.lot_size)
    if quantity <= 0:
        raise InvalidRequestError("the quantity must be positive (at least one lot)")
    price = order.price
    if order.order_type is not OrderType.MARKET:
        if price is None or price <= 0:
            raise InvalidRequestError("a limit or stop order needs a positive price")
        price = round_price(price, book.costs.tick_size)
    trade, purpose, reason = None, OrderPurpose.ENTRY, None
    if order.trade_id is None:
        side = TradeSide.LONG if order.side is Side.BUY else TradeSide.SHORT
        trade = Trade(
            order.user_id,
            order.symbol,
            side,
            broker,
            quantity,
            at,
            strategy_id=order.strategy_id,
            id=book.new_id(),
        )
        trade_id = trade.id
    else:
        held = book.trades.get(order.trade_id)
        if held is None or held.user_id != order.user_id or not held.is_open:
            raise TradeNotFoundError(f"no open trade {order.trade_id!r}")
        if order.side is held.side.exit:
            if quantity > held.quantity:
                raise InvalidRequestError(f"the exit of {quantity} exceeds the trade's {held.quantity}")
            purpose, reason = OrderPurpose.EXIT, EXIT_REASONS[order.order_type]
        else:
            purpose = OrderPurpose.DCA
        trade_id = held.id
    record = Order(
        order.user_id,
        order.client_order_id,
        broker,
        order.symbol,
        order.side,
        order.order_type,
        quantity,
        price,
        at,
        purpose=purpose,
        trade_id=trade_id,
        reason=reason,
        id=book.new_id(),
    )
    return record, trade


class PaperBroker:
    """Paper trading over an in-memory book; ``clock`` gives the time an order is placed at."""

    name = "paper"

    def __init__(self, book: PaperBook, clock: Callable[[], dt.datetime] = _now) -> None:
        self.book = book
        self.clock = clock

    def submit(self, order: OrderRequest) -> OrderState:
        """Hold ``order`` until a bar that starts after now fills it (see ``on_bar``)."""
        existing = self.book.find(order.user_id, order.client_order_id)
        if existing is not None:
            return state_of(existing)
        record, trade = order_records(self.book, order, self.clock(), self.name)
        return state_of(self.book.place(record, trade))

    def submit_at(self, order: OrderRequest, bar: Bar) -> OrderState:
        """Place ``order`` as of ``bar``'s open and fill it in ``bar``: a leg planned at that open
        (a market order at the open, a stop or limit at its price when the bar reaches it)."""
        existing = self.book.find(order.user_id, order.client_order_id)
        if existing is not None:
            return state_of(existing)
        record, trade = order_records(self.book, order, bar.timestamp, self.name)
        return state_of(self.book.execute(record, trade, bar))

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
