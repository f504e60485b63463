"""The database side of the paper ledger: a user's slice of rows loaded into a :class:`PaperBook`, and
what the book changed written back in the caller's transaction (a thin layer: no arithmetic here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.db.trading_models import DcaAttemptRow, OrderRow, PaperBalanceRow, TradeRow
from pipelines.trading.book import PaperBook, quote_asset
from pipelines.trading.broker import OrderStatus, OrderType, Side
from pipelines.trading.records import (
    ZERO,
    Account,
    DcaAttempt,
    Order,
    OrderPurpose,
    Trade,
    TradeSide,
    TradeStatus,
)

__all__ = ["OPEN_STATUSES", "attempt_of", "load_accounts", "load_trades", "save", "trade_of"]

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
]


def trade_of(row: TradeRow) -> Trade:
    values = {name: getattr(row, name) for name in _TRADE_FIELDS}
    return Trade(side=TradeSide(row.side), status=TradeStatus(row.status), **values)


def _order_of(row: OrderRow) -> Order:
    values = {name: getattr(row, name) for name in _ORDER_FIELDS}
    return Order(
        side=Side(row.side),
        order_type=OrderType(row.type),
        purpose=OrderPurpose(row.purpose),
        status=OrderStatus(row.status),
        **values,
    )


def attempt_of(row: DcaAttemptRow) -> DcaAttempt:
    return DcaAttempt(
        row.trade_id, row.attempt, row.price, row.volume, row.success, row.timestamp, row.reason, row.id
    )


def load_accounts(session: Session, book: PaperBook, user_id: str) -> None:
    """The user's balances, and today's realized pnl (the daily loss rule's)."""
    for row in session.scalars(select(PaperBalanceRow).where(PaperBalanceRow.user_id == user_id)):
        book.accounts[(user_id, row.asset)] = Account(user_id, row.asset, row.balance, row.peak)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    realized = session.scalars(
        select(TradeRow.realized_pnl).where(
            TradeRow.user_id == user_id, TradeRow.status == "closed", TradeRow.closed_at >= today
        )
    )
    book.realized_today[user_id] = sum(realized, ZERO)


def load_trades(session: Session, book: PaperBook, rows: Iterable[TradeRow]) -> list[Trade]:
    """Hold ``rows`` with their open orders and their DCA attempts."""
    trades = [trade_of(row) for row in rows]
    for trade in trades:
        book.add(trade=trade)
    ids = [t.id for t in trades]
    if ids:
        orders = select(OrderRow).where(OrderRow.trade_id.in_(ids), OrderRow.status == OrderStatus.OPEN.value)
        for row in session.scalars(orders):
            book.add(order=_order_of(row))
        attempts = (
            select(DcaAttemptRow).where(DcaAttemptRow.trade_id.in_(ids)).order_by(DcaAttemptRow.attempt)
        )
        for attempt_row in session.scalars(attempts):
            book.attempts_of(attempt_row.trade_id).append(attempt_of(attempt_row))
    return trades


def open_notional(session: Session, user_id: str, symbol: str, skip: Iterable[str]) -> Decimal:
    """Notional of the user's open trades of ``symbol`` other than ``skip`` (marked to their last price)."""
    rows = session.execute(
        select(TradeRow.quantity, func.coalesce(TradeRow.last_price, TradeRow.entry_price)).where(
            TradeRow.user_id == user_id,
            TradeRow.symbol == symbol,
            TradeRow.status.in_(OPEN_STATUSES),
            TradeRow.id.not_in(list(skip)),
        )
    )
    return sum((qty * (price or ZERO) for qty, price in rows), ZERO)


def _copy(row: object, record: object, names: Iterable[str]) -> None:
    for name in names:
        setattr(row, name, getattr(record, name))


def save(session: Session, book: PaperBook) -> None:
    """Write what ``book.changes`` lists (new rows added, existing ones updated)."""
    changes = book.changes
    for key in changes.accounts:
        account = book.accounts[key]
        row = session.get(PaperBalanceRow, key) or PaperBalanceRow(user_id=key[0], asset=key[1])
        row.balance, row.peak, row.updated_at = account.balance, account.peak, dt.datetime.now(dt.UTC)
        session.add(row)
    for trade_id in changes.trades:
        trade = book.trades[trade_id]
        trow = session.get(TradeRow, trade_id) or TradeRow(id=trade_id)
        _copy(trow, trade, _TRADE_FIELDS)
        trow.side, trow.status = trade.side.value, trade.status.value
        session.add(trow)
    session.flush()
    for order_id in changes.orders:
        order = book.orders[order_id]
        orow = session.get(OrderRow, order_id) or OrderRow(id=order_id)
        _copy(orow, order, _ORDER_FIELDS)
        orow.side, orow.type, orow.purpose = order.side.value, order.order_type.value, order.purpose.value
        orow.status = order.status.value
        session.add(orow)
    for attempt in changes.attempts:
        session.add(
            DcaAttemptRow(
                id=attempt.id,
                trade_id=attempt.trade_id,
                attempt=attempt.attempt,
                price=attempt.price,
                volume=attempt.volume,
                success=attempt.success,
                reason=attempt.reason,
                timestamp=attempt.timestamp,
            )
        )
    session.flush()
    book.changes = type(changes)()


def quote_of(symbol: str) -> str:
    return quote_asset(symbol)
