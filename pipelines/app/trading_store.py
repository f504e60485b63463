"""The database side of the paper ledger: a user's slice of rows loaded into a :class:`PaperBook`, and
what the book changed written back in the caller's transaction (a thin layer: no arithmetic here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from pipelines.app.ledger_held import notional_of, store_values
from pipelines.db.trading_models import DcaAttemptRow, OrderRow, PaperBalanceRow, TradeRow
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import OrderStatus, OrderType, Side
from pipelines.trading.records import (
    ZERO,
    Account,
    DcaAttempt,
    Held,
    Order,
    OrderPurpose,
    Trade,
    TradeSide,
    TradeStatus,
)

__all__ = [
    "NOTIONAL_SUM",
    "OPEN_STATUSES",
    "attempt_of",
    "limit_prices",
    "load_accounts",
    "load_trades",
    "notional_of",
    "open_by_symbol",
    "open_notional",
    "open_notionals",
    "save",
    "store_values",
    "trade_of",
]

OPEN_STATUSES = (TradeStatus.PENDING.value, TradeStatus.ACTIVE.value)
_TRADE_FIELDS = [
    "user_id",
    "symbol",
    "broker",
    "quantity",
    "created_at",
    "stop_loss",
    "take_profit",
    "dca_enabled",
    "max_dca_attempts",
    "strategy_id",
    "id",
    "entry_price",
    "exit_price",
    "last_price",
    "realized_pnl",
    "commission",
    "close_reason",
    "updated_at",
    "closed_at",
    "opened_at",
    "settled_to",
]
_ORDER_FIELDS = [
    "user_id",
    "client_order_id",
    "broker",
    "symbol",
    "quantity",
    "price",
    "created_at",
    "trade_id",
    "id",
    "filled_quantity",
    "average_price",
    "commission",
    "reason",
    "updated_at",
    "reserve",
]


# The ledger's reads and inserts run as Core statements on the session's connection (the rows are
# read into the book, never into the ORM's identity map, so the unit of work has nothing to track).
# Locked on PostgreSQL, so that two workers serialise one user's ledger (SQLite locks the database).
_HELD = (PaperBalanceRow.held_buys, PaperBalanceRow.held_sells, PaperBalanceRow.margin)
_BALANCES_OF = (
    select(
        PaperBalanceRow.user_id, PaperBalanceRow.asset, PaperBalanceRow.balance, PaperBalanceRow.peak, *_HELD
    )
    .where(PaperBalanceRow.user_id.in_(bindparam("users", expanding=True)))
    .with_for_update()
)
_REALIZED_SINCE = select(TradeRow.user_id, TradeRow.realized_pnl).where(
    TradeRow.user_id.in_(bindparam("users", expanding=True)),
    TradeRow.status == "closed",
    TradeRow.closed_at >= bindparam("since"),
)
# The open notional of a set of trades, marked to their last price (summed by the database: a float on
# SQLite, which is precise enough for a limit check; read it with ``notional_of``).
NOTIONAL_SUM = func.sum(TradeRow.quantity * func.coalesce(TradeRow.last_price, TradeRow.entry_price))
# Per symbol of a user's open trades, in one pass: the oldest time a bar has been applied up to (or the
# creation) of the ones on the broker ``broker`` (None: none there), and the notional of all of them.
_OPEN_BY_SYMBOL = (
    select(
        TradeRow.symbol,
        func.min(
            case(
                (
                    TradeRow.broker == bindparam("broker"),
                    func.coalesce(TradeRow.settled_to, TradeRow.created_at),
                )
            )
        ),
        NOTIONAL_SUM,
    )
    .where(TradeRow.user_id == bindparam("user"), TradeRow.status.in_(OPEN_STATUSES))
    .group_by(TradeRow.symbol)
)
_NOTIONAL = select(NOTIONAL_SUM).where(
    TradeRow.user_id == bindparam("user"),
    TradeRow.symbol == bindparam("symbol"),
    TradeRow.status.in_(OPEN_STATUSES),
)
_BALANCES = cast(Table, PaperBalanceRow.__table__)
_TRADES = cast(Table, TradeRow.__table__)
_ORDERS = cast(Table, OrderRow.__table__)
_INSERT_BALANCE = insert(_BALANCES)
_INSERT_TRADES = insert(_TRADES)
_INSERT_ORDERS = insert(_ORDERS)
# The held trades' open orders and DCA attempts (table rows: the same column names as the mapped ones).
_OPEN_ORDERS_OF = select(_ORDERS).where(
    _ORDERS.c.trade_id.in_(bindparam("ids", expanding=True)), _ORDERS.c.status == OrderStatus.OPEN.value
)
_ATTEMPTS = cast(Table, DcaAttemptRow.__table__)
_INSERT_ATTEMPTS = insert(_ATTEMPTS)
_ATTEMPTS_OF = (
    select(_ATTEMPTS)
    .where(_ATTEMPTS.c.trade_id.in_(bindparam("ids", expanding=True)))
    .order_by(_ATTEMPTS.c.attempt)
)
# Changed rows not mapped in the session, updated in one executemany per table (the parameters' column
# names are the SET clause).
_UPDATE_TRADE = update(_TRADES).where(_TRADES.c.id == bindparam("key"))
_UPDATE_ORDER = update(_ORDERS).where(_ORDERS.c.id == bindparam("key"))
_UPDATE_BALANCE = (
    update(_BALANCES)
    .where(_BALANCES.c.user_id == bindparam("b_user"), _BALANCES.c.asset == bindparam("b_asset"))
    .values(
        balance=bindparam("balance"),
        peak=bindparam("peak"),
        held_buys=bindparam("held_buys"),
        held_sells=bindparam("held_sells"),
        margin=bindparam("margin"),
        updated_at=bindparam("updated_at"),
    )
)


def trade_of(row: TradeRow | Row[Any]) -> Trade:
    values = {name: getattr(row, name) for name in _TRADE_FIELDS}
    return Trade(side=TradeSide(row.side), status=TradeStatus(row.status), **values)


def _order_of(row: OrderRow | Row[Any]) -> Order:
    values = {name: getattr(row, name) for name in _ORDER_FIELDS}
    return Order(
        side=Side(row.side),
        order_type=OrderType(row.type),
        purpose=OrderPurpose(row.purpose),
        status=OrderStatus(row.status),
        **values,
    )


def attempt_of(row: DcaAttemptRow | Row[Any]) -> DcaAttempt:
    return DcaAttempt(
        row.trade_id, row.attempt, row.price, row.volume, row.success, row.timestamp, row.reason, row.id
    )


def load_accounts(session: Session, book: PaperBook, users: Sequence[str]) -> None:
    """The users' balances (locked on PostgreSQL) and today's realized pnl (the daily loss rule's), one
    query each (with what all of their open records hold, kept in the balance rows), and what the
    records the book does not load count for its rules: the value of their positions (the drawdown
    rule's equity), read when asked."""
    book.valuation.stored = store_values(session)
    connection = session.connection()
    for user, asset, balance, peak, *held in connection.execute(_BALANCES_OF, {"users": list(users)}):
        book.accounts[(user, asset)] = Account(user, asset, balance, peak, Held(*held))
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    realized = dict.fromkeys(users, ZERO)
    for user, pnl in connection.execute(_REALIZED_SINCE, {"users": list(users), "since": today}):
        realized[user] += pnl
    book.realized_today.update(realized)


def load_trades(session: Session, book: PaperBook, rows: Iterable[TradeRow | Row[Any]]) -> list[Trade]:
    """Hold ``rows`` (mapped or table rows) with their open orders and their DCA attempts (read as table
    rows: nothing enters the session's identity map)."""
    trades = [trade_of(row) for row in rows]
    for trade in trades:
        book.add(trade=trade)
    ids = [t.id for t in trades]
    if ids:
        connection = session.connection()
        for row in connection.execute(_OPEN_ORDERS_OF, {"ids": ids}):
            book.add(order=_order_of(row))
        for attempt_row in connection.execute(_ATTEMPTS_OF, {"ids": ids}):
            book.attempts_of(attempt_row.trade_id).append(attempt_of(attempt_row))
    return trades


def open_by_symbol(
    session: Session, user_id: str, broker: str
) -> list[tuple[str, dt.datetime | None, Decimal]]:
    """Per symbol of the user's open trades: the oldest time a bar was applied up to (or the creation)
    of those on ``broker`` (None: none there), and the notional of all of them."""
    rows = session.connection().execute(_OPEN_BY_SYMBOL, {"user": user_id, "broker": broker})
    return [(symbol, oldest, ZERO if total is None else notional_of(total)) for symbol, oldest, total in rows]


def open_notional(session: Session, user_id: str, symbol: str, skip: Iterable[str]) -> Decimal:
    """Notional of the user's open trades of ``symbol`` other than ``skip``, marked to their last price."""
    skipped = list(skip)
    query = _NOTIONAL if not skipped else _NOTIONAL.where(TradeRow.id.not_in(skipped))
    total = session.connection().execute(query, {"user": user_id, "symbol": symbol}).scalar()
    return ZERO if total is None else notional_of(total)


def open_notionals(
    session: Session, user_id: str, symbols: Iterable[str], skip: Iterable[str]
) -> dict[str, Decimal]:
    """:func:`open_notional` of each of ``symbols``, in one query (a symbol without any: absent)."""
    skipped = list(skip)
    query = (
        select(TradeRow.symbol, NOTIONAL_SUM)
        .where(
            TradeRow.user_id == user_id,
            TradeRow.symbol.in_(list(symbols)),
            TradeRow.status.in_(OPEN_STATUSES),
        )
        .group_by(TradeRow.symbol)
    )
    if skipped:
        query = query.where(TradeRow.id.not_in(skipped))
    out: dict[str, Decimal] = {}
    for symbol, total in session.execute(query):
        if total is not None:
            out[symbol] = notional_of(total)
    return out


def limit_prices(session: Session, trades: Iterable[Trade]) -> dict[str, Decimal]:
    """The limit price of each not yet filled trade's entry order (market entries have none)."""
    pending = [t.id for t in trades if t.entry_price is None]
    if not pending:
        return {}
    query = select(OrderRow.trade_id, OrderRow.price).where(
        OrderRow.trade_id.in_(pending),
        OrderRow.purpose == OrderPurpose.ENTRY.value,
        OrderRow.price.is_not(None),
    )
    rows = session.execute(query)
    return {trade_id: price for trade_id, price in rows if trade_id is not None and price is not None}


def _trade_values(trade: Trade) -> dict[str, Any]:
    values = {name: getattr(trade, name) for name in _TRADE_FIELDS}
    return {**values, "side": trade.side.value, "status": trade.status.value}


def _order_values(order: Order) -> dict[str, Any]:
    values = {name: getattr(order, name) for name in _ORDER_FIELDS}
    enums = {"side": order.side.value, "type": order.order_type.value, "purpose": order.purpose.value}
    return {**values, **enums, "status": order.status.value}


def _save_accounts(session: Session, book: PaperBook) -> None:
    """The changed accounts: the new ones inserted, the others updated (one executemany each)."""
    now = dt.datetime.now(dt.UTC)
    created, updated = [], []
    for key in sorted(book.changes.accounts):  # a fixed order: row locks taken alike by every writer
        account = book.accounts[key]
        held = account.held
        values = {"balance": account.balance, "peak": account.peak, "updated_at": now}
        values |= {"held_buys": held.buys, "held_sells": held.sells, "margin": held.margin}
        if key in book.changes.created_accounts:
            created.append({"user_id": key[0], "asset": key[1], **values})
        else:
            updated.append({"b_user": key[0], "b_asset": key[1], **values})
    connection = session.connection()
    if created:
        connection.execute(_INSERT_BALANCE, created)
    if updated:
        connection.execute(_UPDATE_BALANCE, updated)


def save(session: Session, book: PaperBook) -> None:
    """Write what ``book.changes`` lists: new rows inserted, the others updated (through the session's
    mapped row where it holds one, else in one Core UPDATE per table), with what the open records hold
    carried into their accounts first."""
    book.fold_holds()
    changes = book.changes
    _save_accounts(session, book)
    connection = session.connection()
    new_trades = [_trade_values(book.trades[i]) for i in changes.trades if i in changes.created]
    if new_trades:
        connection.execute(_INSERT_TRADES, new_trades)
    changed = [_trade_values(book.trades[i]) for i in changes.trades - changes.created]
    _update(session, TradeRow, _UPDATE_TRADE, changed)
    new_orders = [_order_values(book.orders[i]) for i in changes.orders if i in changes.created]
    if new_orders:
        connection.execute(_INSERT_ORDERS, new_orders)
    # an order placed and settled within this request has no row: none updated
    _update(
        session,
        OrderRow,
        _UPDATE_ORDER,
        [_order_values(book.orders[i]) for i in changes.orders - changes.created],
    )
    if changes.attempts:
        connection.execute(_INSERT_ATTEMPTS, [_attempt_values(a) for a in changes.attempts])
    session.flush()
    book.changes = type(changes)()


def _update(
    session: Session, entity: type[TradeRow | OrderRow], statement: Any, rows: list[dict[str, Any]]
) -> None:
    """``rows``' values set on the session's mapped rows where it holds them (never a read), the others
    updated by ``statement`` (one executemany, the row's id as ``key``)."""
    unmapped = []
    for values in rows:
        key = values.pop("id")
        mapped = session.identity_map.get(identity_key(entity, key))
        if mapped is None:
            unmapped.append({**values, "key": key})
        else:
            for name, value in values.items():
                setattr(mapped, name, value)
    if unmapped:
        session.connection().execute(statement, unmapped)


def _attempt_values(attempt: DcaAttempt) -> dict[str, Any]:
    names = ("id", "trade_id", "attempt", "price", "volume", "success", "reason", "timestamp")
    return {name: getattr(attempt, name) for name in names}
