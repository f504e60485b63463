"""``ExchangeBroker``: the :class:`Broker` that places one user's orders on a ccxt exchange.

``submit`` is idempotent on the client order id at the venue itself: it first asks the venue for an
order with that id and answers it when there is one, so a retry (after a timeout, a crash between
placing and recording) never places a second order. Quantities are rounded down to the market's lot
size and limit prices to its tick (``Decimal``) by :class:`CcxtClient`. A broker order id is
``"<symbol>:<venue order id>"`` (``BTC/USDT:100402``): the venue needs the market to find an order.
Errors: too little balance is :class:`InsufficientBalanceError` (``INSUFFICIENT_BALANCE``); a refused
key or a failing venue stays :class:`ExchangeError` (``EXTERNAL_API_ERROR``, scrubbed of the secret).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.trading.broker import Fill, OrderRequest, OrderState, OrderStatus, OrderType, Side
from pipelines.trading.errors import InsufficientBalanceError
from pipelines.trading.exchanges import CcxtClient, ExchangeFundsError, ExchangeOrder, ExchangeOrderNotFound

__all__ = ["ExchangeBroker", "order_key", "split_order_key"]

_STATUSES = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
_ZERO = Decimal(0)
_DEFAULT_FEE = Decimal("0.001")  # a venue that does not say its taker fee: the common 0.1%


def _plain(value: Decimal) -> str:
    """A decimal as plain text, at most 8 decimal places (no exponent)."""
    text = format(value.quantize(Decimal("1e-8")).normalize(), "f")
    return "0" if text in ("-0", "") else text


def order_key(symbol: str, venue_order_id: str) -> str:
    return f"{symbol}:{venue_order_id}"


def split_order_key(order_id: str) -> tuple[str, str]:
    """(symbol, venue order id) of a broker order id; DataNotFoundError when it is not one."""
    symbol, sep, venue_id = order_id.rpartition(":")
    if not sep or "/" not in symbol or not venue_id:
        raise DataNotFoundError(f"no order {order_id[:80]!r}")
    return symbol, venue_id


class ExchangeBroker:
    """One user's account on one venue (synchronous: call it off the event loop)."""

    def __init__(self, client: CcxtClient, user_id: str) -> None:
        self.client = client
        self.user_id = user_id
        self.name = client.venue

    def __repr__(self) -> str:
        return f"ExchangeBroker({self.name!r})"

    def _mine(self, user_id: str) -> None:
        if user_id != self.user_id:  # this broker signs with another user's key
            raise DataNotFoundError("no such account on this broker")

    def submit(self, order: OrderRequest) -> OrderState:
        """The order placed with ``order``'s client order id, placing it unless the venue has it."""
        self._check(order)
        found = self.find(order.user_id, order.symbol, order.client_order_id)
        return found if found is not None else self.place(order)

    def _check(self, order: OrderRequest) -> None:
        self._mine(order.user_id)
        if order.order_type is OrderType.STOP:
            raise InvalidRequestError(f"{self.name} orders are market or limit orders")
        if order.order_type is OrderType.LIMIT and (order.price is None or order.price <= 0):
            raise InvalidRequestError("a limit order needs a positive price")

    def place(self, order: OrderRequest) -> OrderState:
        """Place ``order`` without asking for an earlier one (``submit`` asks first)."""
        self._check(order)
        try:
            placed = self.client.create_order(
                order.symbol,
                order.side.value,
                order.quantity,
                client_order_id=order.client_order_id,
                order_type=order.order_type.value,
                price=order.price if order.order_type is OrderType.LIMIT else None,
            )
        except ExchangeFundsError as exc:
            raise InsufficientBalanceError(str(exc)) from None
        return self.state(placed)

    def check_funds(self, order: OrderRequest) -> None:
        """Refuse (InsufficientBalanceError naming the shortfall) an order the account's free balance
        does not cover: a buy's notional plus the taker commission in the quote asset (at the limit
        price, else the last price), a sell's quantity plus that commission in the base asset."""
        self._mine(order.user_id)
        rules = self.client.market(order.symbol)
        quantity = rules.quantity(order.quantity)
        fee = rules.taker_fee if rules.taker_fee is not None else _DEFAULT_FEE
        if order.side is Side.BUY:
            price = order.price if order.price is not None else self.client.fetch_price(order.symbol)
            asset, needed = rules.quote, quantity * price * (1 + fee)
        else:
            asset, needed = rules.base, quantity * (1 + fee)
        free = self.client.fetch_balance().free.get(asset, _ZERO)
        if free < needed:
            raise InsufficientBalanceError(
                f"{self.name} free {asset} {_plain(free)} does not cover this {order.side.value} of "
                f"{_plain(quantity)} {rules.base} with {_plain(fee * 100)}% commission: needs "
                f"{_plain(needed)} {asset}, short by {_plain(needed - free)} {asset}"
            )

    def cancel(self, user_id: str, order_id: str) -> OrderState:
        self._mine(user_id)
        symbol, venue_id = split_order_key(order_id)
        try:
            return self.state(self.client.cancel_order(symbol, order_id=venue_id))
        except ExchangeOrderNotFound:
            raise DataNotFoundError(f"no order {order_id[:80]!r} on {self.name}") from None

    def order(self, user_id: str, order_id: str) -> OrderState:
        self._mine(user_id)
        symbol, venue_id = split_order_key(order_id)
        try:
            return self.state(self.client.fetch_order(symbol, order_id=venue_id))
        except ExchangeOrderNotFound:
            raise DataNotFoundError(f"no order {order_id[:80]!r} on {self.name}") from None

    def find(self, user_id: str, symbol: str, client_order_id: str) -> OrderState | None:
        """The order placed with ``client_order_id`` on ``symbol``, None when the venue has none."""
        self._mine(user_id)
        try:
            return self.state(self.client.fetch_order(symbol, client_order_id=client_order_id))
        except ExchangeOrderNotFound:
            return None

    def balances(self, user_id: str) -> dict[str, Decimal]:
        """The account's total of each asset it holds (zero balances left out)."""
        self._mine(user_id)
        return {asset: total for asset, total in self.client.fetch_balance().total.items() if total}

    def state(self, order: ExchangeOrder) -> OrderState:
        """The venue's answer as an order state; the fill is the part filled so far (at its average)."""
        status = _STATUSES.get(order.status.lower(), OrderStatus.OPEN)
        client_id = order.client_order_id or ""
        fill = None
        average = order.average if order.average is not None else order.price
        if order.filled > 0 and average is not None:
            fill = Fill(
                order_key(order.symbol, order.order_id),
                client_id,
                order.symbol,
                Side(order.side.lower()),
                order.filled,
                average,
                self._commission(order, average),
                order.timestamp or dt.datetime.now(dt.UTC),
            )
        done = status in (OrderStatus.OPEN, OrderStatus.FILLED)
        reason = None if done else f"{order.status} on {self.name}"
        return OrderState(order_key(order.symbol, order.order_id), client_id, status, fill, reason)

    def _commission(self, order: ExchangeOrder, average: Decimal) -> Decimal:
        """The order's fee in the quote currency (a fee charged in the base is priced at the average)."""
        if order.fee is None or order.fee_currency is None:
            return _ZERO
        base, _, quote = order.symbol.partition("/")
        if order.fee_currency == quote:
            return order.fee
        if order.fee_currency == base:
            return order.fee * average
        return _ZERO  # charged in another asset (BNB): not converted
