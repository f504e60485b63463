"""A venue's fills as round trips: the fills of one order grouped into one (:func:`group_fills`, their
volume-weighted price, summed commission), then each sell paired with the earlier buys of the same
symbol first in, first out (:func:`round_trips`) into closed trades with entry, exit and pnl.

Each row is keyed by the venue's order ids, so a sync repeated later gives the same keys: a round trip
``rt:<symbol>:<buy order>:<sell order>`` (the part of the buy that sell closed), a buy's part still
held ``open:<symbol>:<buy order>`` (active, shrinking as later sells close it) and a sell with no
earlier buy in the synced fills (holdings bought before them) ``sell:<symbol>:<sell order>``.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipelines.trading.exchanges import ExchangeTrade

__all__ = ["VenueOrder", "group_fills", "round_trips"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order's fills together: ``key`` its broker order id (``BTC/USDT:100234``)."""

    key: str
    order_id: str
    symbol: str
    side: str  # buy | sell
    quantity: Decimal
    price: Decimal  # volume-weighted over its fills
    commission: Decimal  # in the quote asset
    first: dt.datetime
    last: dt.datetime
    fills: int


def _commission(fill: ExchangeTrade, base: str, quote: str) -> Decimal:
    if fill.fee is None or fill.fee_currency == quote:
        return fill.fee or _ZERO
    return fill.fee * fill.price if fill.fee_currency == base else _ZERO  # another asset: not converted


def group_fills(symbol: str, fills: list[ExchangeTrade]) -> list[VenueOrder]:
    """The fills of ``symbol`` as one entry per order (a fill without an order id stands alone),
    oldest first."""
    base, _, quote = symbol.partition("/")
    grouped: dict[str, list[ExchangeTrade]] = {}
    for fill in fills:
        grouped.setdefault(fill.order_id or f"fill-{fill.trade_id}", []).append(fill)
    orders = []
    for order_id, parts in grouped.items():
        quantity = sum((f.quantity for f in parts), _ZERO)
        if quantity <= 0:
            continue
        notional = sum((f.quantity * f.price for f in parts), _ZERO)
        times = [f.timestamp for f in parts]
        orders.append(
            VenueOrder(
                f"{symbol}:{order_id}",
                order_id,
                symbol,
                parts[0].side,
                quantity,
                notional / quantity,
                sum((_commission(f, base, quote) for f in parts), _ZERO),
                min(times),
                max(times),
                len(parts),
            )
        )
    return sorted(orders, key=lambda o: (o.first, o.order_id))


def _row(venue: str, order: VenueOrder, quantity: Decimal, **values: Any) -> dict[str, Any]:
    share = order.commission * quantity / order.quantity
    row = {
        "symbol": order.symbol,
        "side": "long",
        "status": "active",
        "quantity": quantity,
        "entry_price": order.price,
        "exit_price": None,
        "last_price": order.price,
        "realized_pnl": _ZERO,
        "commission": share,
        "close_reason": None,
        "created_at": order.first,
        "opened_at": order.first,
        "closed_at": None,
    }
    row.update(values)
    if row["close_reason"] is None and row["status"] == "closed":
        row["close_reason"] = f"{venue} order {order.order_id}"[:200]
    return row


def _closed(venue: str, buy: VenueOrder, sell: VenueOrder, quantity: Decimal) -> dict[str, Any]:
    commission = (buy.commission * quantity / buy.quantity) + (sell.commission * quantity / sell.quantity)
    return _row(
        venue,
        buy,
        quantity,
        status="closed",
        exit_price=sell.price,
        last_price=sell.price,
        commission=commission,
        realized_pnl=(sell.price - buy.price) * quantity - commission,
        close_reason=f"{venue} sell order {sell.order_id}"[:200],
        closed_at=sell.last,
    )


def round_trips(venue: str, orders: list[VenueOrder]) -> dict[str, dict[str, Any]]:
    """Trade-row values by external id: buys paired with the following sells of their symbol (FIFO)."""
    rows: dict[str, dict[str, Any]] = {}
    held: dict[str, deque[list[Any]]] = {}  # symbol -> [buy order, quantity not sold yet]
    for order in sorted(orders, key=lambda o: (o.first, o.order_id)):
        lots = held.setdefault(order.symbol, deque())
        if order.side == "buy":
            lots.append([order, order.quantity])
            continue
        left = order.quantity
        while left > 0 and lots:
            buy, remaining = lots[0]
            matched = min(left, remaining)
            rows[f"rt:{order.symbol}:{buy.order_id}:{order.order_id}"[:96]] = _closed(
                venue, buy, order, matched
            )
            lots[0][1], left = remaining - matched, left - matched
            if lots[0][1] <= 0:
                lots.popleft()
        if left > 0:  # sold what was bought before the synced fills
            rows[f"sell:{order.symbol}:{order.order_id}"[:96]] = _row(
                venue, order, left, side="short", status="closed", closed_at=order.last
            )
    for lots in held.values():
        for buy, remaining in lots:
            rows[f"open:{buy.symbol}:{buy.order_id}"[:96]] = _row(venue, buy, remaining)
    return rows
