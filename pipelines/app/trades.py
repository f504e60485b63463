"""Paper trading use cases: open and close trades, DCA by hand, and the settlement that applies the
stored bars to a user's open trades before any of their trades is read or written.

Every write runs in one transaction under the user's lock: the user's slice is loaded into a
:class:`PaperBook`, the book does the arithmetic, the store writes back what changed (nothing if refused).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.app.exchange_exits import close_exchange_trade, enforce_levels
from pipelines.app.exchange_trades import ExchangeTrades
from pipelines.app.paper_bars import StoredBars
from pipelines.app.trade_events import collect, publish
from pipelines.app.trade_requests import PAPER, TradeRequest, check_levels, level, paper_only
from pipelines.app.trade_views import trade_view
from pipelines.app.trading_limits import trading_limits
from pipelines.app.trading_store import (
    OPEN_STATUSES,
    limit_prices,
    load_accounts,
    load_trades,
    open_by_symbol,
    open_notional,
    save,
)
from pipelines.data.symbols import as_spelled
from pipelines.db import Database
from pipelines.db.ledger_versions import bump_ledgers
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.errors import ConflictError, InvalidRequestError
from pipelines.settings import Settings
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import OrderRequest, OrderType, Side
from pipelines.trading.dca import DcaSettings
from pipelines.trading.errors import TradeClosedError, TradeNotFoundError
from pipelines.trading.fills import CostModel
from pipelines.trading.records import (
    ZERO,
    Bar,
    Order,
    OrderPurpose,
    Trade,
    TradeSide,
    TradeStatus,
    round_price,
    round_quantity,
)
from pipelines.trading.risk import RiskLimits, default_levels

__all__ = ["PAPER", "TradeDesk", "TradeRequest", "paper_only"]

Limits = Callable[[Session, str], tuple[RiskLimits, DcaSettings]]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TradeDesk:
    """The paper trading facade every front end calls (routes, the strategy runner, the live feed)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
        limits: Limits = trading_limits,
    ) -> None:
        paper = settings.paper
        self.database = database
        self.bars = StoredBars(settings)
        self.costs = CostModel(
            paper.paper_commission, paper.paper_slippage, paper.paper_lot_size, paper.paper_tick_size
        )
        self.initial_balance = paper.paper_initial_balance
        self.clock = clock
        self.limits = limits
        self._guard = threading.Lock()
        self._user_locks: dict[str, threading.Lock] = {}
        self.venues: ExchangeTrades | None = None  # exchange trades, where the server set them up

    # -- plumbing --------------------------------------------------------------------------------
    @contextmanager
    def ledger(self, user_id: str, costs: CostModel | None = None) -> Iterator[tuple[Session, PaperBook]]:
        """The user's transaction and a book holding their balances (under the user's stored limits,
        filling at ``costs``, default the paper venue's); written back on success, then its trading
        events published."""
        with self.user_lock(user_id):
            with self.database.transaction() as session:
                bump_ledgers(session, [user_id])  # first: a ledger kept in memory elsewhere is stale
                read: dict[str, tuple[RiskLimits, DcaSettings]] = {}  # each user's, read once

                def limits_for(user: str) -> tuple[RiskLimits, DcaSettings]:
                    if user not in read:
                        read[user] = self.limits(session, user)
                    return read[user]

                book = PaperBook(
                    costs or self.costs, initial_balance=self.initial_balance, limits_for=limits_for
                )
                load_accounts(session, book, [user_id])
                yield session, book
                changes = book.changes
                save(session, book)
                events = collect(session, book, changes)
            publish(events)  # committed: never an event of a rolled-back write

    def user_lock(self, user_id: str) -> threading.Lock:
        """The lock serialising the user's ledger writes in this worker."""
        with self._guard:
            return self._user_locks.setdefault(user_id, threading.Lock())

    def settle_into(self, session: Session, book: PaperBook, user_id: str) -> None:
        """Apply the stored bars the user's open trades have not seen yet."""
        self._settle(session, book, user_id)

    def _settle(self, session: Session, book: PaperBook, user_id: str) -> dict[str, Decimal]:
        """:meth:`settle_into`, answering the open notional per symbol as stored before it (every
        broker's trades; a symbol without open trades is absent)."""
        notional: dict[str, Decimal] = {}
        for symbol, oldest, total in open_by_symbol(session, user_id, PAPER):
            notional[symbol] = total
            last = None if oldest is None else self.bars.last_time(symbol)  # None: venue trades only
            if oldest is None or last is None or oldest >= last:
                continue
            rows = session.scalars(
                select(TradeRow).where(
                    TradeRow.user_id == user_id,
                    TradeRow.symbol == symbol,
                    TradeRow.status.in_(OPEN_STATUSES),
                    TradeRow.broker == PAPER,
                    TradeRow.created_at < last,
                    or_(TradeRow.settled_to.is_(None), TradeRow.settled_to < last),
                )
            ).all()
            trades = load_trades(session, book, rows)
            if not trades:
                continue
            since = min(t.settled_to or t.created_at for t in trades)
            for bar in self.bars.after(symbol, since):
                book.on_bar(symbol, bar)
        return notional

    def settle(self, user_id: str) -> None:
        """Bring the user's open trades up to the newest stored bar."""
        with self.ledger(user_id) as (session, book):
            self.settle_into(session, book, user_id)

    def owned(self, session: Session, book: PaperBook, scope: str | None, trade_id: str) -> Trade:
        row = session.get(TradeRow, trade_id)
        if row is None or (scope is not None and row.user_id != scope):
            raise TradeNotFoundError(f"no trade {trade_id!r}")
        held = book.trades.get(trade_id)
        return held if held is not None else load_trades(session, book, [row])[0]

    def owner_of(self, scope: str | None, trade_id: str) -> str:
        """The trade's owner (TradeNotFoundError for another user's trade unless ``scope`` is None)."""
        return self._owner_broker(scope, trade_id)[0]

    def _owner_broker(self, scope: str | None, trade_id: str) -> tuple[str, str]:
        """(owner, broker) of a trade (TradeNotFoundError as :meth:`owner_of`)."""
        with self.database.session() as session:
            row = session.execute(
                select(TradeRow.user_id, TradeRow.broker).where(TradeRow.id == trade_id)
            ).first()
        if row is None or (scope is not None and row[0] != scope):
            raise TradeNotFoundError(f"no trade {trade_id!r}")
        return row[0], row[1]

    # -- opening ---------------------------------------------------------------------------------
    def open_trade(self, user_id: str, request: TradeRequest) -> dict[str, Any]:
        """Open a trade with its entry order; a repeated ``client_order_id`` gives the first trade back.
        Refused (nothing written) on a bad price level, a risk rule or too little balance. Without a
        stop-loss or take-profit, the user's default distance (SAFU on) from the reference price
        sets it. The answer's ``symbol`` is the caller's spelling."""
        if request.broker != PAPER:
            return self._venue_trade(user_id, request)
        symbol = self.bars.symbol(request.symbol).name
        client_id = request.client_order_id or str(uuid.uuid4())
        echo = {"symbol": as_spelled(request.symbol)}  # the answer names the pair as the caller did
        try:
            with self.ledger(user_id) as (session, book):
                first = self._first(session, book, user_id, request.client_order_id)
                if first is not None:
                    return {**first, **echo}
                stored = self._settle(session, book, user_id)
                # The open notional of the trades the book does not hold: as read, unless settling
                # loaded (and maybe filled) some of them.
                offset = stored.get(symbol, ZERO) if not book.trades else None
                trade, order = self._new_trade(session, book, user_id, symbol, request, client_id, offset)
                book.place(order, trade)
                return {**trade_view(trade, order.price), **echo}
        except IntegrityError:  # the same client order id placed concurrently (another worker)
            with self.ledger(user_id) as (session, book):
                first = self._first(session, book, user_id, request.client_order_id)
            if first is None:
                raise
            return {**first, **echo}

    def _venue_trade(self, user_id: str, request: TradeRequest) -> dict[str, Any]:
        """A trade whose entry order goes to the exchange ``request.broker``."""
        if self.venues is None:
            raise InvalidRequestError("exchange trading is not set up on this server")
        if request.dca_enabled:
            raise InvalidRequestError("DCA runs on paper trades only")
        if request.price is not None:
            side = TradeSide.LONG if request.side is Side.BUY else TradeSide.SHORT
            check_levels(side, request.price, request.stop_loss, request.take_profit)
        kind = OrderType.MARKET if request.price is None else OrderType.LIMIT
        order = OrderRequest(
            user_id,
            request.symbol,
            request.side,
            request.amount,
            request.client_order_id or "",
            kind,
            request.price,
        )
        levels = {"stop_loss": request.stop_loss, "take_profit": request.take_profit}
        return self.venues.open_trade(
            user_id, request.broker, order, levels | {"strategy_id": request.strategy_id}, request.environment
        )

    def refresh_venues(self, user_id: str) -> None:
        """Bring the user's open exchange orders up to date from their venues."""
        if self.venues is not None:
            self.venues.refresh(user_id)

    def _first(
        self, session: Session, book: PaperBook, user_id: str, client_id: str | None
    ) -> dict[str, Any] | None:
        """The trade an earlier request with this client order id opened (None: no such request)."""
        if client_id is None:
            return None
        query = select(OrderRow.trade_id).where(
            OrderRow.user_id == user_id, OrderRow.client_order_id == client_id
        )
        trade_id = session.scalar(query)
        if trade_id is None:
            return None
        trade = self.owned(session, book, user_id, trade_id)
        return trade_view(trade, limit_prices(session, [trade]).get(trade_id))

    def _reference(self, symbol: str, request: TradeRequest) -> Decimal:
        if request.price is not None:
            return request.price
        bar = self.bars.latest(symbol)
        if bar is None:
            raise InvalidRequestError(f"no price of {symbol} is stored yet")
        return Decimal(repr(bar.close))

    def _new_trade(
        self,
        session: Session,
        book: PaperBook,
        user_id: str,
        symbol: str,
        request: TradeRequest,
        client_id: str,
        offset: Decimal | None,
    ) -> tuple[Trade, Order]:
        side = TradeSide.LONG if request.side is Side.BUY else TradeSide.SHORT
        quantity = round_quantity(request.amount, self.costs.lot_size)
        if quantity <= 0:
            raise InvalidRequestError(f"amount {request.amount} is below one lot ({self.costs.lot_size})")
        price = None if request.price is None else round_price(request.price, self.costs.tick_size)
        reference = self._reference(symbol, request)
        check_levels(side, reference, request.stop_loss, request.take_profit)
        if offset is None:
            offset = open_notional(session, user_id, symbol, book.trades)
        book.notional_offset[(user_id, symbol)] = offset
        book.check(user_id, symbol, request.side, quantity, reference, opens=True)
        limits, dca = book.limits_for(user_id)
        stop, target = default_levels(limits, long=side is TradeSide.LONG, price=reference)
        tick = self.costs.tick_size
        stop = request.stop_loss if request.stop_loss is not None else level(stop, tick)
        target = request.take_profit if request.take_profit is not None else level(target, tick)
        now = self.clock()
        attempts = request.max_dca_attempts if request.max_dca_attempts is not None else dca.max_attempts
        trade = Trade(
            user_id,
            symbol,
            side,
            "paper",
            quantity,
            now,
            stop,
            target,
            request.dca_enabled,
            attempts if request.dca_enabled else 0,
            request.strategy_id,
            last_price=reference,
        )
        kind = OrderType.MARKET if price is None else OrderType.LIMIT
        order = Order(
            user_id, client_id, "paper", symbol, request.side, kind, quantity, price, now, trade_id=trade.id
        )
        return trade, order

    # -- closing and DCA -------------------------------------------------------------------------
    def close_trade(self, scope: str | None, trade_id: str, *, reason: str, force: bool) -> dict[str, Any]:
        """Close an active trade at the newest stored close (slippage and commission applied); a pending
        one is cancelled. ``force`` closes at the entry price when no newer price is known. An exchange
        trade is closed (or cancelled) at its venue instead."""
        owner, broker = self._owner_broker(scope, trade_id)
        if broker != PAPER and self.venues is not None:  # the venue closes it
            return close_exchange_trade(self.venues, owner, trade_id, reason=reason)
        with self.ledger(owner) as (session, book):
            self.settle_into(session, book, owner)
            trade = self.owned(session, book, owner, trade_id)
            paper_only(trade)
            now = self.clock()
            if not trade.is_open:
                raise TradeClosedError(f"trade {trade_id} is {trade.status.value} already")
            if trade.status is TradeStatus.PENDING:
                limit = None
                for order in book.open_orders(trade.id):
                    limit = order.price if order.purpose is OrderPurpose.ENTRY else limit
                    book.cancel(order, reason, now)
                trade.status, trade.close_reason, trade.closed_at, trade.updated_at = (
                    TradeStatus.CANCELLED,
                    reason,
                    now,
                    now,
                )
                book.changes.trades.add(trade.id)
                return trade_view(trade, limit)
            latest = self.bars.latest(trade.symbol)
            if latest is None and not force:
                raise ConflictError(
                    f"no price of {trade.symbol} is stored to close at; pass force to close at entry"
                )
            raw = latest.close if latest is not None else float(trade.entry_price or 0)
            book.close(trade, raw, reason, now)
            return trade_view(trade)

    def on_bar(self, symbol: str, bar: Bar) -> None:
        """A new bar of ``symbol`` (the live runner's entry point): settle every user holding it open,
        then close at their venue the exchange trades whose stop-loss or take-profit it crossed."""
        # paper trades: the store holds the bar already; settlement reads it from there, in order
        self.bars.forget(symbol)
        with self.database.session() as session:
            users = session.scalars(
                select(TradeRow.user_id)
                .distinct()
                .where(TradeRow.symbol == symbol, TradeRow.status.in_(OPEN_STATUSES))
            ).all()
        for user_id in users:
            self.settle(user_id)
        if self.venues is not None:  # exchange trades whose stop-loss or take-profit the bar crossed
            enforce_levels(self.venues, symbol, bar)
