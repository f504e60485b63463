"""Trades on an exchange: ``POST /api/trades`` with ``broker`` naming a ccxt exchange the user stored a
key for. The entry order goes to the venue through :class:`ExchangeBroker` (testnet where the venue has
one), and the trade and its order are recorded in the same trade store as paper trades, with the venue
as ``broker``. An exchange trade's fills come from the venue: reading the user's trades asks it for the
state of each order still open (never from stored bars).

The client order id makes a retry safe twice over: a local order with it answers its trade, and the
broker finds an order the venue already took under it (a crash between placing and recording).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.app.trade_views import trade_view
from pipelines.app.trading_limits import trading_limits
from pipelines.app.trading_store import trade_of
from pipelines.data.symbols import parse_symbol
from pipelines.db import Database
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.db.types import utc_now
from pipelines.errors import InvalidRequestError, TradeforgeError
from pipelines.security.secretbox import SecretDecryptionError
from pipelines.settings import Settings
from pipelines.trading.broker import OrderRequest, OrderState, OrderStatus, Side
from pipelines.trading.credentials import ExchangeKeyStore
from pipelines.trading.errors import TradingDisabledError
from pipelines.trading.exchange_broker import ExchangeBroker
from pipelines.trading.exchanges import THREE_COMMAS, check_venue, open_ccxt, venue_name

__all__ = ["MAX_REFRESHED_ORDERS", "ExchangeTrades"]

log = logging.getLogger("tradeforge.trading")
MAX_REFRESHED_ORDERS = 20  # open venue orders asked about per read


class ExchangeTrades:
    """Open exchange trades and bring their orders up to date from the venue."""

    def __init__(self, settings: Settings, database: Database, store: ExchangeKeyStore) -> None:
        self._settings = settings
        self.database = database
        self._store = store

    def __repr__(self) -> str:
        return "ExchangeTrades(...)"

    def broker(self, session: Session, user_id: str, venue: str) -> ExchangeBroker:
        """The user's broker on ``venue`` signed with their key of its default environment."""
        venue, environment = check_venue(venue, None)
        if venue == THREE_COMMAS:
            raise InvalidRequestError("3Commas trades are opened by its bots: sync them with POST /api/sync")
        credentials = self._store.credentials_for(session, user_id, venue, environment)
        if credentials is None:
            raise InvalidRequestError(
                f"no {venue_name(venue)} {environment} API key: store one with POST /api/keys/ "
                f"(provider_id {venue!r}, environment {environment!r})"
            )
        options = self._settings.exchanges
        client = open_ccxt(
            venue,
            credentials,
            environment=environment,
            timeout_seconds=options.exchange_timeout_seconds,
            api_url=options.exchange_api_urls.get(venue),
        )
        return ExchangeBroker(client, user_id)

    def open_trade(
        self, user_id: str, venue: str, request: OrderRequest, levels: dict[str, Any]
    ) -> dict[str, Any]:
        """Place ``request``'s entry on the venue and record the trade (``levels``: stop-loss,
        take-profit and strategy id to keep with it); a known client order id answers its trade."""
        symbol = parse_symbol(request.symbol)
        if not symbol.is_crypto:
            raise InvalidRequestError(f"{symbol.name} is not a crypto pair such as BTC/USDT")
        client_id = request.client_order_id or str(uuid.uuid4())
        request = OrderRequest(
            user_id, symbol.name, request.side, request.quantity, client_id, request.order_type, request.price
        )
        with self.database.session() as session:
            first = _first(session, user_id, request.client_order_id)
            if first is not None:
                return first
            limits, _ = trading_limits(session, user_id)
            if not limits.enabled or limits.kill_switch:
                raise TradingDisabledError("trading is off or the kill switch is on: no new orders")
            broker = self.broker(session, user_id, venue)
        state = broker.submit(request)
        try:
            with self.database.transaction() as session:
                trade = _record(session, broker.name, request, state, levels)
                return trade_view(trade_of(trade))
        except IntegrityError:  # the same client order id recorded at once by another request
            with self.database.session() as session:
                answer = _first(session, user_id, request.client_order_id)
            if answer is None:
                raise
            return answer

    def refresh(self, user_id: str) -> None:
        """Ask the venues for the user's open exchange orders and apply what they answer; a venue that
        fails leaves its trades as stored (logged), never failing the read."""
        with self.database.session() as session:
            orders = session.scalars(
                select(OrderRow)
                .where(
                    OrderRow.user_id == user_id,
                    OrderRow.broker != "paper",
                    OrderRow.status == OrderStatus.OPEN.value,
                    OrderRow.venue_order_id.is_not(None),
                )
                .order_by(OrderRow.created_at)
                .limit(MAX_REFRESHED_ORDERS)
            ).all()
            if not orders:
                return
            brokers: dict[str, ExchangeBroker] = {}
            states: list[tuple[str, OrderState]] = []
            for order in orders:
                try:
                    if order.broker not in brokers:
                        brokers[order.broker] = self.broker(session, user_id, order.broker)
                    states.append(
                        (order.id, brokers[order.broker].order(user_id, order.venue_order_id or ""))
                    )
                except (TradeforgeError, SecretDecryptionError) as exc:  # the venue, the key, the order
                    log.info("%s order %s of user %s not refreshed: %s", order.broker, order.id, user_id, exc)
        with self.database.transaction() as session:
            for order_id, state in states:
                row = session.get(OrderRow, order_id)
                trade = None if row is None or row.trade_id is None else session.get(TradeRow, row.trade_id)
                if row is not None and trade is not None:
                    _apply(row, trade, state, utc_now())


def _first(session: Session, user_id: str, client_id: str | None) -> dict[str, Any] | None:
    if client_id is None:
        return None
    trade_id = session.scalar(
        select(OrderRow.trade_id).where(OrderRow.user_id == user_id, OrderRow.client_order_id == client_id)
    )
    trade = None if trade_id is None else session.get(TradeRow, trade_id)
    return None if trade is None else trade_view(trade_of(trade))


def _record(
    session: Session, venue: str, request: OrderRequest, state: OrderState, levels: dict[str, Any]
) -> TradeRow:
    now = utc_now()
    zero = request.quantity * 0
    trade = TradeRow(
        id=str(uuid.uuid4()),
        user_id=request.user_id,
        symbol=request.symbol,
        side="long" if request.side is Side.BUY else "short",
        broker=venue,
        status="pending",
        quantity=request.quantity,
        realized_pnl=zero,
        commission=zero,
        last_price=request.price,
        created_at=now,
        dca_enabled=False,
        max_dca_attempts=0,
        **levels,
    )
    session.add(trade)
    session.flush()  # the order refers to it
    order = OrderRow(
        user_id=request.user_id,
        client_order_id=request.client_order_id,
        broker=venue,
        symbol=request.symbol,
        side=request.side.value,
        type=request.order_type.value,
        purpose="entry",
        quantity=request.quantity,
        price=request.price,
        status=OrderStatus.OPEN.value,
        filled_quantity=zero,
        commission=zero,
        trade_id=trade.id,
        venue_order_id=state.order_id,
        created_at=now,
    )
    session.add(order)
    _apply(order, trade, state, now)
    session.flush()
    return trade


def _apply(order: OrderRow, trade: TradeRow, state: OrderState, now: dt.datetime) -> None:
    """The venue's state of the entry order onto its row and its trade."""
    order.status, order.reason, order.updated_at = state.status.value, state.reason, now
    fill = state.fill
    if fill is not None:
        order.filled_quantity, order.average_price, order.commission = (
            fill.quantity,
            fill.price,
            fill.commission,
        )
        trade.quantity, trade.entry_price, trade.commission = fill.quantity, fill.price, fill.commission
        trade.last_price = trade.last_price or fill.price
        trade.status, trade.opened_at = "active", trade.opened_at or fill.timestamp
    elif state.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        trade.status, trade.closed_at = "cancelled", now
        trade.close_reason = state.reason
    trade.updated_at = now
