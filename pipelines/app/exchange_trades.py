"""Trades on an exchange: ``POST /api/trades`` with ``broker`` naming a ccxt exchange the user stored a
key for. The entry order goes to the venue through :class:`ExchangeBroker` (with the key of the asked
environment: testnet where the venue has one unless ``live`` is asked for, which the server's
``allow_live_trading`` must allow), after the venue's free balance is found to cover it; the trade and
its order are recorded in the same trade store as paper trades, with the venue as ``broker``. An
exchange trade's fills come from the venue: reading the user's trades asks it for the state of each
order still open (never from stored bars). Closing one (by hand, or its stop-loss or take-profit
crossed by a new bar) sends a market order the other way (:mod:`pipelines.app.exchange_exits`).

The client order id makes a retry safe twice over: a local order with it answers its trade, and the
broker finds an order the venue already took under it (a crash between placing and recording).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.app.trade_views import trade_view
from pipelines.app.trading_limits import trading_limits
from pipelines.app.trading_store import trade_of
from pipelines.app.venue_orders import apply_state, record_entry
from pipelines.data.symbols import parse_symbol
from pipelines.db import Database
from pipelines.db.exchange_keys import ExchangeKey
from pipelines.db.ledger_versions import bump_ledgers
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.db.types import utc_now
from pipelines.errors import InvalidRequestError, TradeforgeError
from pipelines.security.secretbox import SecretDecryptionError
from pipelines.settings import Settings
from pipelines.trading.broker import OrderRequest, OrderState, OrderStatus
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

    def broker(
        self, session: Session, user_id: str, venue: str, environment: str | None = None
    ) -> ExchangeBroker:
        """The user's broker on ``venue`` signed with their newest key of ``environment`` (None: the
        venue's default, testnet where it has one)."""
        venue, environment = check_venue(venue, environment)
        if venue == THREE_COMMAS:
            raise InvalidRequestError("3Commas trades are opened by its bots: sync them with POST /api/sync")
        credentials = self._store.credentials_for(session, user_id, venue, environment)
        if credentials is None:
            raise InvalidRequestError(_no_key(session, user_id, venue, environment))
        options = self._settings.exchanges
        client = open_ccxt(
            venue,
            credentials,
            environment=environment,
            timeout_seconds=options.exchange_timeout_seconds,
            api_url=options.exchange_api_urls.get(venue),
        )
        return ExchangeBroker(client, user_id)

    def _entry_broker(
        self, session: Session, user_id: str, venue: str, environment: str | None
    ) -> tuple[ExchangeBroker, str]:
        """The broker a new entry goes through and its environment; live only when the server allows it."""
        venue, environment = check_venue(venue, environment)
        broker = self.broker(session, user_id, venue, environment)
        if environment == "live" and not self._settings.exchanges.allow_live_trading:
            raise TradingDisabledError(
                f"live trading on {venue_name(venue)} is off on this server: it places real orders with "
                "real money; an operator enables it with TRADEFORGE_ALLOW_LIVE_TRADING=true "
                "(exchanges.allow_live_trading), or trade on testnet",
                rule="allow_live_trading",
            )
        return broker, environment

    def open_trade(
        self,
        user_id: str,
        venue: str,
        request: OrderRequest,
        levels: dict[str, Any],
        environment: str | None = None,
    ) -> dict[str, Any]:
        """Place ``request``'s entry on the venue and record the trade (``levels``: stop-loss,
        take-profit and strategy id to keep with it); a known client order id answers its trade.
        Refused before anything is sent when the venue's free balance does not cover it."""
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
            broker, environment = self._entry_broker(session, user_id, venue, environment)
        state = broker.find(user_id, request.symbol, client_id)  # placed before a crash: no check
        if state is None:
            broker.check_funds(request)
            state = broker.place(request)
        try:
            with self.database.transaction() as session:
                trade = record_entry(
                    session, broker.name, request, state, levels | {"environment": environment}
                )
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
            orders = session.execute(
                select(OrderRow, TradeRow.environment)
                .join(TradeRow, OrderRow.trade_id == TradeRow.id)
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
            brokers: dict[tuple[str, str | None], ExchangeBroker] = {}
            states: list[tuple[str, OrderState]] = []
            for order, environment in orders:
                try:
                    key = (order.broker, environment)
                    if key not in brokers:
                        brokers[key] = self.broker(session, user_id, order.broker, environment)
                    states.append((order.id, brokers[key].order(user_id, order.venue_order_id or "")))
                except (TradeforgeError, SecretDecryptionError) as exc:  # the venue, the key, the order
                    log.info("%s order %s of user %s not refreshed: %s", order.broker, order.id, user_id, exc)
        self.apply(states)

    def apply(self, states: list[tuple[str, OrderState]]) -> None:
        """The venue's answers about orders (by row id) onto them and their trades, in one transaction."""
        with self.database.transaction() as session:
            owners = select(OrderRow.user_id).where(OrderRow.id.in_([i for i, _ in states]))
            bump_ledgers(session, session.scalars(owners))  # before the write
            for order_id, state in states:
                row = session.get(OrderRow, order_id)
                trade = None if row is None or row.trade_id is None else session.get(TradeRow, row.trade_id)
                if row is not None and trade is not None:
                    apply_state(row, trade, state, utc_now())


def _no_key(session: Session, user_id: str, venue: str, environment: str) -> str:
    """Why there is no broker: no key of that environment, naming the one the user has, if any."""
    message = (
        f"no {venue_name(venue)} {environment} API key: store one with POST /api/keys/ "
        f"(provider_id {venue!r}, environment {environment!r})"
    )
    other = session.scalar(
        select(ExchangeKey.environment).where(
            ExchangeKey.user_id == user_id,
            ExchangeKey.provider_id == venue,
            ExchangeKey.active.is_(True),
            ExchangeKey.environment != environment,
        )
    )
    return message if other is None else f"{message}, or trade with your {other} key: environment {other!r}"


def _first(session: Session, user_id: str, client_id: str | None) -> dict[str, Any] | None:
    if client_id is None:
        return None
    trade_id = session.scalar(
        select(OrderRow.trade_id).where(OrderRow.user_id == user_id, OrderRow.client_order_id == client_id)
    )
    trade = None if trade_id is None else session.get(TradeRow, trade_id)
    return None if trade is None else trade_view(trade_of(trade))
