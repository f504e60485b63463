"""The strategy leader's users' ledgers kept in memory between feed ticks.

A tick's transaction first raises the ledger version of every user it trades for, in one statement
(``claim_ledgers``: on PostgreSQL it also takes their rows' locks, where every other ledger writer
raises the version first); a user whose version moved by one since the last tick that kept it was
written by nobody else, so their balances, today's realized pnl, risk limits, the sleeves' open trades
with their open orders and DCA attempts, the client order ids the leader placed, and what the records
the book does not hold count for (the risk rules' notional per symbol, the positions' value per quote
currency) are taken from memory; any other user is read from the database (one query per read for all
of them) and kept after the tick. A tick that fails drops what it had taken (the book changed those
records in memory): the next tick reads them again.

The records the book does not hold (trades placed through the API, a venue's trades) are changed by
other writers only, so what they count for is kept as read; the leader never acts on them in a tick.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from pipelines.app.strategy_legs import Group
from pipelines.app.trades import TradeDesk
from pipelines.app.trading_store import OPEN_STATUSES, load_accounts, load_trades
from pipelines.db.ledger_versions import claim_ledgers
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.trading.book import Changes, PaperBook
from pipelines.trading.broker import OrderStatus
from pipelines.trading.dca import DcaSettings
from pipelines.trading.equity import PAPER, active_value, position_value
from pipelines.trading.records import ZERO, Account, DcaAttempt, Order, Trade, TradeStatus
from pipelines.trading.reserve import quote_asset
from pipelines.trading.risk import RiskLimits

__all__ = ["Kept", "LedgerCache", "TickLedger"]

Limits = tuple[RiskLimits, DcaSettings]
_TRADES = cast(Table, TradeRow.__table__)
_OPEN_TRADES = select(_TRADES).where(
    _TRADES.c.user_id.in_(bindparam("users", expanding=True)), _TRADES.c.status.in_(OPEN_STATUSES)
)
_PLACED = select(OrderRow.user_id, OrderRow.client_order_id).where(
    OrderRow.user_id.in_(bindparam("users", expanding=True)),
    OrderRow.client_order_id.in_(bindparam("ids", expanding=True)),
)
KEEP_IDS = 4096  # client order ids remembered per user (a tick places a few per strategy)


@dataclass(slots=True)
class Others:
    """What a user's open records the book does not hold count for."""

    notional: dict[str, Decimal] = field(default_factory=dict)  # per symbol: the risk rules' (marked)
    paper: dict[str, Decimal] = field(default_factory=dict)  # per quote asset: active paper positions
    value: dict[str, Decimal] = field(default_factory=dict)  # per quote asset: every active position


@dataclass(slots=True)
class Kept:
    """One user's ledger as the leader's last committed tick left it."""

    user: str
    version: int
    day: dt.date
    limits: Limits
    accounts: list[Account]
    realized: Decimal
    trades: list[Trade]  # the open trades of the user's strategies
    orders: list[Order]  # their open orders
    attempts: dict[str, list[DcaAttempt]]
    others: Others
    placed: dict[str, None]  # client order ids placed by the leader's ticks, oldest first


@dataclass(slots=True)
class TickLedger:
    """A tick's book over its users' ledgers, and what to keep of them once it has committed."""

    book: PaperBook
    placed: frozenset[tuple[str, str]]  # (user, client order id) of the tick's legs stored already
    versions: dict[str, int]
    day: dt.date
    limits: dict[str, Limits]
    others: dict[str, Others]
    remembered: dict[str, dict[str, None]]
    loaded: list[str] = field(default_factory=list)  # the users read from the database


class LedgerCache:
    """Each user's :class:`Kept` ledger, by user id (used under the users' ledger locks)."""

    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}
        self._guard = threading.Lock()
        self.reads = 0  # the ledgers read from the database so far (a kept one was stale, or none)

    def __len__(self) -> int:
        return len(self._kept)

    def __contains__(self, user: object) -> bool:
        return user in self._kept

    def drop(self, users: Iterable[str] | None = None) -> None:
        """Forget ``users``' ledgers (all with None): read again at their next tick."""
        with self._guard:
            if users is None:
                self._kept.clear()
            for user in users or ():
                self._kept.pop(user, None)

    def open(
        self, session: Session, desk: TradeDesk, users: Sequence[str], groups: Sequence[Group]
    ) -> TickLedger:
        """The tick's book over ``users``' ledgers (in ``session``'s transaction, their versions
        claimed): the kept ones whose version nobody else moved, the others read."""
        versions = claim_ledgers(session, users)
        today = dt.datetime.now(dt.UTC).date()
        with self._guard:
            taken = {u: self._kept.pop(u, None) for u in users}  # back in only after the commit
        fresh = {
            u: k
            for u, k in taken.items()
            if k is not None and k.day == today and versions.get(u) == k.version + 1
        }
        limits = {u: k.limits for u, k in fresh.items()}

        def limits_for(user: str) -> Limits:
            if user not in limits:
                limits[user] = desk.limits(session, user)
            return limits[user]

        book = PaperBook(desk.costs, initial_balance=desk.initial_balance, limits_for=limits_for)
        stale = [u for u in users if u not in fresh]
        self.reads += len(stale)
        others = {u: k.others for u, k in fresh.items()}
        for kept in fresh.values():
            _hold(book, kept)
        if stale:
            others |= _read(session, book, stale)
            for user in stale:
                limits_for(user)  # read now: a user whose limits cannot be read fails the tick here
        _value_stored(book, others)
        ids = {(p.config.user_id, p.request.client_order_id) for planned, _ in groups for p in planned}
        placed = {(u, cid) for u, cid in ids if u in fresh and cid in fresh[u].placed}
        placed |= _placed(session, stale, [cid for u, cid in ids if u not in fresh])
        remembered = {u: k.placed for u, k in fresh.items()}
        return TickLedger(book, frozenset(placed), versions, today, limits, others, remembered, stale)

    def keep(self, tick: TickLedger, changes: Changes) -> None:
        """After the tick's commit: each of its users' ledgers as the book left it (a user holding an
        open record the book cannot keep is read again next time)."""
        book = tick.book
        created = [book.orders[i] for i in changes.created if i in book.orders]
        kept: dict[str, Kept] = {}
        for user, version in tick.versions.items():
            if user not in tick.limits:
                continue
            entry = _kept_of(tick, user, version)
            if entry is None:
                continue
            ids = tick.remembered.get(user, {})
            ids.update((o.client_order_id, None) for o in created if o.user_id == user)
            ids.update((cid, None) for u, cid in tick.placed if u == user)
            while len(ids) > KEEP_IDS:
                del ids[next(iter(ids))]
            entry.placed = ids
            kept[user] = entry
        with self._guard:
            self._kept.update(kept)

    def positions_value(self, tick: TickLedger, user: str, asset: str) -> Decimal:
        """The value of ``user``'s active positions in ``asset`` (every broker's, as GET /portfolio
        counts it) after the tick: those the book holds, plus the others as read."""
        total = tick.others[user].value.get(asset, ZERO) if user in tick.others else ZERO
        for trade in tick.book.trades.values():
            if (
                trade.user_id == user
                and trade.status is TradeStatus.ACTIVE
                and quote_asset(trade.symbol) == asset
            ):
                total += active_value(trade.side.value, trade.quantity, trade.last_price, trade.entry_price)
        return total


def _hold(book: PaperBook, kept: Kept) -> None:
    """A kept ledger into ``book``, as a store's load would put it there."""
    for account in kept.accounts:
        book.accounts[account.key] = account
    book.realized_today[kept.user] = kept.realized
    for trade in kept.trades:
        book.add(trade=trade)
    for order in kept.orders:
        book.add(order=order)
    book.attempts.update(kept.attempts)
    for symbol, notional in kept.others.notional.items():
        book.notional_offset[(kept.user, symbol)] = notional


def _read(session: Session, book: PaperBook, users: list[str]) -> dict[str, Others]:
    """``users``' balances, today's realized pnl and their strategies' open trades (with their open
    orders and DCA attempts) into ``book``, one query each for all of them; what their other open
    records count for."""
    load_accounts(session, book, users)
    others = {u: Others() for u in users}
    held = []
    for row in session.connection().execute(_OPEN_TRADES, {"users": users}):
        if row.strategy_id is not None:
            held.append(row)
            continue
        mine, asset = others[row.user_id], quote_asset(row.symbol)
        mark = row.last_price if row.last_price is not None else row.entry_price
        if mark is not None:
            mine.notional[row.symbol] = mine.notional.get(row.symbol, ZERO) + row.quantity * mark
        if row.status == TradeStatus.ACTIVE.value:
            value = active_value(row.side, row.quantity, row.last_price, row.entry_price)
            mine.value[asset] = mine.value.get(asset, ZERO) + value
            if row.broker == PAPER:
                mine.paper[asset] = mine.paper.get(asset, ZERO) + value
    load_trades(session, book, held)
    for user, mine in others.items():
        for symbol, notional in mine.notional.items():
            book.notional_offset[(user, symbol)] = notional
    return others


def _value_stored(book: PaperBook, others: dict[str, Others]) -> None:
    """The book's equity counts the active paper positions it does not hold, as read (no query)."""
    totals: dict[tuple[str, str], Decimal] = {}
    for user, mine in others.items():
        for asset, value in mine.paper.items():
            totals[(user, asset)] = value
    for trade in book.trades.values():
        key = (trade.user_id, quote_asset(trade.symbol))
        totals[key] = totals.get(key, ZERO) + position_value(trade)

    def stored(user_id: str, asset: str) -> Decimal:
        return totals.get((user_id, asset), ZERO)

    book.valuation.stored = stored


def _placed(session: Session, users: list[str], ids: list[str]) -> set[tuple[str, str]]:
    """(user, client order id) of ``ids`` stored already for ``users`` (one indexed search)."""
    if not users or not ids:
        return set()
    rows = session.connection().execute(_PLACED, {"users": users, "ids": ids})
    return {(user, cid) for user, cid in rows if cid is not None}


def _kept_of(tick: TickLedger, user: str, version: int) -> Kept | None:
    """``user``'s ledger as ``tick``'s book left it; None when it holds an open record no kept ledger
    may hold (an open trade without a strategy, an open order of a trade not held)."""
    book = tick.book
    trades = [t for t in book.trades.values() if t.user_id == user and t.is_open]
    if any(t.strategy_id is None for t in trades):
        return None
    ids = {t.id for t in trades}
    orders = [o for o in book.orders.values() if o.user_id == user and o.status is OrderStatus.OPEN]
    if any(o.trade_id not in ids for o in orders):
        return None
    accounts = [a for key, a in book.accounts.items() if key[0] == user]
    attempts = {i: book.attempts[i] for i in ids if i in book.attempts}
    realized = book.realized_today.get(user, ZERO)
    others = tick.others.get(user, Others())
    limits = tick.limits[user]
    return Kept(user, version, tick.day, limits, accounts, realized, trades, orders, attempts, others, {})
