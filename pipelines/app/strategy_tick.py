"""A feed tick's strategy legs of every user in one ledger transaction.

The users' locks are taken in a fixed order (an API write holds one user's lock at most, so no cycle),
then one book holds every user's balances and the sleeves the legs act on; each read is one query for
all users (balances, today's realized pnl, placed client order ids, the sleeves' open trades, the risk
rules' notional of the trades not loaded), the writes go out together and the trading events
(``portfolio_changed`` of every user with a fill included) are built from two queries. One commit per
tick instead of one per user: the per-transaction cost (begin, lock, commit) dominated the tick.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from functools import partial

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pipelines.app.ledger_cache import LedgerCache
from pipelines.app.strategy_legs import Group, Legs, place_groups, sleeve_trades
from pipelines.app.trade_events import Event, collect, publish
from pipelines.app.trades import TradeDesk
from pipelines.app.trading_store import (
    NOTIONAL_SUM,
    OPEN_STATUSES,
    load_accounts,
    load_trades,
    notional_of,
    save,
)
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.trading.book import PaperBook
from pipelines.trading.dca import DcaSettings
from pipelines.trading.records import ZERO
from pipelines.trading.risk import RiskLimits

__all__ = ["execute_tick"]

# Built once (each read of a tick is one of these, with expanding parameters).
_PLACED = select(OrderRow.user_id, OrderRow.client_order_id).where(  # both: the unique index's search
    OrderRow.user_id.in_(bindparam("users", expanding=True)),
    OrderRow.client_order_id.in_(bindparam("ids", expanding=True)),
)
_OFFSETS = (
    select(TradeRow.user_id, TradeRow.symbol, NOTIONAL_SUM)
    .where(
        TradeRow.user_id.in_(bindparam("users", expanding=True)),
        TradeRow.symbol.in_(bindparam("symbols", expanding=True)),
        TradeRow.status.in_(OPEN_STATUSES),
        TradeRow.id.not_in(bindparam("skip", expanding=True)),
    )
    .group_by(TradeRow.user_id, TradeRow.symbol)
)

Batches = Mapping[str, Sequence[Group]]  # each user's groups


def execute_tick(
    desk: TradeDesk,
    batches: Batches,
    also: Callable[[Session, list[Legs]], None] | None = None,
    ledgers: LedgerCache | None = None,
) -> dict[str, list[Legs]]:
    """Every user's groups placed and filled as :func:`~pipelines.app.strategy_legs.execute_batch`
    places one user's, all in one transaction (with ``also``, given every leg state in user order);
    each user's legs' states. With ``ledgers``, the users' ledgers kept there since their last tick
    are used where nobody else wrote them, and kept again after the commit. Any failure rolls back
    every user's legs (and drops their kept ledgers): the caller retries user by user."""
    users = sorted(batches)
    groups = [g for user in users for g in batches[user]]
    with ExitStack() as locks:
        for user in users:
            locks.enter_context(desk.user_lock(user))
        try:
            with desk.database.transaction() as session:
                tick = None if ledgers is None else ledgers.open(session, desk, users, groups)
                book, placed = (
                    _read(session, desk, users, groups) if tick is None else (tick.book, tick.placed)
                )
                done = {user: place_groups(desk, book, user, batches[user], placed) for user in users}
                if also is not None:
                    also(session, [legs for user in users for legs in done[user]])
                changes = book.changes
                save(session, book)
                value_of = None if tick is None or ledgers is None else partial(ledgers.positions_value, tick)
                events: list[Event] = collect(session, book, changes, value_of)
        except BaseException:
            if ledgers is not None:
                ledgers.drop(users)
            raise
        if tick is not None and ledgers is not None:
            ledgers.keep(tick, changes)
    publish(events)  # committed: never an event of a rolled-back write
    return done


def _read(
    session: Session, desk: TradeDesk, users: list[str], groups: list[Group]
) -> tuple[PaperBook, frozenset[tuple[str, str]]]:
    """The tick's book read from the database: balances, today's realized pnl, the sleeves' open
    trades, the risk rules' notional of the trades not loaded; the legs' ids stored already."""
    read: dict[str, tuple[RiskLimits, DcaSettings]] = {}

    def limits_for(user: str) -> tuple[RiskLimits, DcaSettings]:
        if user not in read:
            read[user] = desk.limits(session, user)
        return read[user]

    book = PaperBook(desk.costs, initial_balance=desk.initial_balance, limits_for=limits_for)
    load_accounts(session, book, users)
    placed = _placed(session, groups)
    load_trades(session, book, sleeve_trades(session, users, groups))
    _offsets(session, book, groups)
    return book, placed


def _placed(session: Session, groups: Sequence[Group]) -> frozenset[tuple[str, str]]:
    """(user, client order id) of the groups' legs stored already (a replayed bar's)."""
    ids = [p.request.client_order_id for planned, _ in groups for p in planned]
    if not ids:
        return frozenset()
    users = sorted({p.config.user_id for planned, _ in groups for p in planned})
    rows = session.connection().execute(_PLACED, {"users": users, "ids": ids})
    return frozenset((user, cid) for user, cid in rows if cid is not None)


def _offsets(session: Session, book: PaperBook, groups: Sequence[Group]) -> None:
    """The risk rules' notional of the open trades the book does not hold, per (user, symbol) entered
    (marked to their last price; summed by the database)."""
    wanted = {
        (p.config.user_id, p.config.symbol) for planned, _ in groups for p in planned if p.leg == "enter"
    }
    if not wanted:
        return
    params = {
        "users": sorted({u for u, _ in wanted}),
        "symbols": sorted({s for _, s in wanted}),
        "skip": list(book.trades),
    }
    totals = {(u, s): t for u, s, t in session.connection().execute(_OFFSETS, params)}
    for key in wanted:
        total = totals.get(key)
        book.notional_offset[key] = ZERO if total is None else notional_of(total)
