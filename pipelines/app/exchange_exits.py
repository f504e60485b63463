"""Closing exchange trades at their venue: by hand (``POST /api/trades/{id}/close``) or when a new bar
crosses an open trade's stop-loss or take-profit (:func:`enforce_levels`: the live feed's ticks reach it
through :func:`on_tick`, and ``TradeDesk.on_bar`` calls it).

An active trade closes with a market order the other way for its filled quantity, under a client order
id derived from the trade, so a retried close finds the order the venue took instead of sending a
second one; the trade is closed at the venue's fill price, commission and pnl once the venue reports
the order filled (until then it stays active with its exit order open, refreshed on each read). A
pending trade's entry is cancelled at the venue instead (a part filled before the cancel is then
closed the same way); an exit the venue cancelled or refused is tried again, under the next derived
id, by the next close. A synced trade (``external_id``) belongs to its venue: 409.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from pipelines.app.exchange_trades import ExchangeTrades
from pipelines.app.strategy_rows import bars_of
from pipelines.app.trade_views import trade_view
from pipelines.app.trading_store import trade_of
from pipelines.app.venue_orders import ENTRY, EXIT, exit_request, record_exit
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.errors import ConflictError, DataNotFoundError, TradeforgeError
from pipelines.security.secretbox import SecretDecryptionError
from pipelines.trading.broker import OrderRequest, OrderState, OrderStatus
from pipelines.trading.errors import TradeClosedError
from pipelines.trading.exchange_broker import ExchangeBroker
from pipelines.trading.records import Bar

__all__ = ["close_exchange_trade", "crossed", "enforce_levels", "on_tick"]

log = logging.getLogger("tradeforge.trading")
_OPEN = ("pending", "active")
_ENDED = (OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value)  # an exit the venue did not fill


def _view(venues: ExchangeTrades, trade_id: str) -> dict[str, Any]:
    with venues.database.session() as session:
        row = session.get(TradeRow, trade_id)
        if row is None:
            raise DataNotFoundError(f"no trade {trade_id!r}")
        return trade_view(trade_of(row))


def _entry_settled(venues: ExchangeTrades, broker: ExchangeBroker, entry: OrderRow) -> None:
    """Cancel the entry's unfilled rest at the venue (the venue's answer applied: a trade with
    nothing filled is cancelled); an order the venue filled meanwhile is read back instead."""
    if entry.status != OrderStatus.OPEN.value or entry.venue_order_id is None:
        return
    try:
        state = broker.cancel(entry.user_id, entry.venue_order_id)
    except DataNotFoundError:  # filled (or gone) before the cancel reached it
        state = broker.order(entry.user_id, entry.venue_order_id)
    venues.apply([(entry.id, state)])


def close_exchange_trade(
    venues: ExchangeTrades, user_id: str, trade_id: str, *, reason: str
) -> dict[str, Any]:
    """Close (or cancel, while pending) the user's exchange trade at its venue; the trade's view."""
    with venues.database.session() as session:
        trade = session.get(TradeRow, trade_id)
        if trade is None or trade.user_id != user_id:
            raise DataNotFoundError(f"no trade {trade_id!r}")
        if trade.external_id is not None:
            raise ConflictError(f"trade {trade_id} is on {trade.broker}: change it there, it syncs back")
        if trade.status not in _OPEN:
            raise TradeClosedError(f"trade {trade_id} is {trade.status} already")
        orders = session.scalars(
            select(OrderRow).where(OrderRow.trade_id == trade_id).order_by(OrderRow.created_at)
        ).all()
        broker = venues.broker(session, user_id, trade.broker, trade.environment)
    entry = next((o for o in orders if o.purpose == ENTRY), None)
    if entry is not None:
        _entry_settled(venues, broker, entry)
    exits = [o for o in orders if o.purpose == EXIT]
    if exits and exits[-1].status not in _ENDED and exits[-1].venue_order_id is not None:
        venues.apply([(exits[-1].id, broker.order(user_id, exits[-1].venue_order_id))])  # never resent
        return _view(venues, trade_id)
    with venues.database.session() as session:
        trade = session.get(TradeRow, trade_id)
        if trade is None or trade.status != "active":  # cancelled at the venue: nothing to close
            return _view(venues, trade_id)
        request = exit_request(trade, len(exits))
    state = broker.submit(request)  # finds the order a lost answer left at the venue
    _record(venues, trade_id, request, state, reason)
    return _view(venues, trade_id)


def _record(
    venues: ExchangeTrades, trade_id: str, request: OrderRequest, state: OrderState, reason: str
) -> None:
    try:
        with venues.database.transaction() as session:
            trade = session.get(TradeRow, trade_id)
            if trade is not None:
                record_exit(session, trade, request, state, reason)
    except IntegrityError:  # a concurrent close recorded the same exit order: apply the answer to it
        with venues.database.session() as session:
            order_id = session.scalar(
                select(OrderRow.id).where(
                    OrderRow.user_id == request.user_id, OrderRow.client_order_id == request.client_order_id
                )
            )
        if order_id is None:
            raise
        venues.apply([(order_id, state)])


def crossed(side: str, stop_loss: Decimal | None, take_profit: Decimal | None, bar: Bar) -> str | None:
    """``stop_loss`` or ``take_profit`` when ``bar`` reached that level of a long (``side``) or short
    trade; the stop-loss first when one bar reached both (the worse outcome assumed)."""
    low, high = Decimal(repr(bar.low)), Decimal(repr(bar.high))
    if side == "long":
        hits = (stop_loss is not None and low <= stop_loss, take_profit is not None and high >= take_profit)
    else:
        hits = (stop_loss is not None and high >= stop_loss, take_profit is not None and low <= take_profit)
    return "stop_loss" if hits[0] else "take_profit" if hits[1] else None


def enforce_levels(venues: ExchangeTrades, symbol: str, bar: Bar) -> int:
    """Close at their venues the active exchange trades of ``symbol`` whose stop-loss or take-profit
    ``bar`` crossed; a venue that fails leaves its trade open (logged) for the next bar. The number
    closed or sent."""
    with venues.database.session() as session:
        pending = session.scalars(
            select(TradeRow.user_id)
            .distinct()
            .where(TradeRow.symbol == symbol, TradeRow.status == "pending", TradeRow.broker != "paper")
        ).all()
    for user_id in pending:  # an entry the venue filled since the last read: active first
        venues.refresh(user_id)
    with venues.database.session() as session:
        rows = session.execute(
            select(
                TradeRow.id, TradeRow.user_id, TradeRow.side, TradeRow.stop_loss, TradeRow.take_profit
            ).where(
                TradeRow.symbol == symbol,
                TradeRow.status == "active",
                TradeRow.broker != "paper",
                TradeRow.external_id.is_(None),
                or_(TradeRow.stop_loss.is_not(None), TradeRow.take_profit.is_not(None)),
            )
        ).all()
    sent = 0
    for trade_id, user_id, side, stop_loss, take_profit in rows:
        reason = crossed(side, stop_loss, take_profit, bar)
        if reason is None:
            continue
        try:
            close_exchange_trade(venues, user_id, trade_id, reason=reason)
            sent += 1
        except (TradeforgeError, SecretDecryptionError) as exc:
            log.warning("%s of exchange trade %s not sent: %s", reason, trade_id, exc)
    return sent


def venue_symbols(venues: ExchangeTrades, symbols: Iterable[str]) -> set[str]:
    """Those of ``symbols`` with an open (pending or active) exchange trade: one query for a tick."""
    wanted = list(symbols)
    if not wanted:
        return set()
    with venues.database.session() as session:
        found = session.scalars(
            select(TradeRow.symbol)
            .distinct()
            .where(
                TradeRow.symbol.in_(wanted),
                TradeRow.status.in_(("pending", "active")),
                TradeRow.broker != "paper",
            )
        )
        return set(found)


def on_tick(venues: ExchangeTrades, batch: Mapping[str, pd.DataFrame | None]) -> None:
    """A live feed tick's new bars (by symbol): each enforces the levels of its symbol's trades (the
    symbols without an open exchange trade, most of them, cost nothing beyond one query a tick)."""
    held = venue_symbols(venues, batch)
    for symbol, frame in batch.items():
        if symbol not in held:
            continue
        for row in [] if frame is None else bars_of(frame):
            when = dt.datetime.fromtimestamp(row.ts_ns / 1e9, dt.UTC)
            enforce_levels(venues, symbol, Bar(when, row.open, row.high, row.low, row.close))
