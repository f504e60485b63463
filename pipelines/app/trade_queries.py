"""What the trade and DCA routes read and the hand-placed DCA order: each settles the stored bars into
the caller's open trades first, then answers from the database. ``scope``: the caller's user id, or
None for an admin (every user's trades)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pipelines.app.trade_ml import ml_confidence
from pipelines.app.trade_views import attempt_view, dec, trade_view
from pipelines.app.trades import TradeDesk, paper_only
from pipelines.app.trading_store import OPEN_STATUSES, attempt_of, limit_prices, trade_of
from pipelines.db.trading_models import DcaAttemptRow, TradeRow
from pipelines.db.types import isoformat_utc
from pipelines.errors import InvalidRequestError
from pipelines.trading.errors import DcaDisabledError, TradeClosedError
from pipelines.trading.records import ZERO, DcaAttempt, OrderPurpose, Trade, TradeStatus

_T = TypeVar("_T")

__all__ = ["active_trades", "dca_history", "dca_status", "execute_dca", "trade_detail", "trade_history"]


def _settle_scope(desk: TradeDesk, scope: str | None) -> None:
    if scope is not None:
        desk.settle(scope)
        desk.refresh_venues(scope)
        return
    with desk.database.session() as session:
        users = session.scalars(
            select(TradeRow.user_id).distinct().where(TradeRow.status.in_(OPEN_STATUSES))
        ).all()
    for user_id in users:
        desk.settle(user_id)


def _scoped(query: Select[_T], scope: str | None) -> Select[_T]:
    return query if scope is None else query.where(TradeRow.user_id == scope)


def _page(session: Session, query: Select[TradeRow], limit: int, offset: int) -> tuple[list[Trade], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(TradeRow.created_at.desc(), TradeRow.id).limit(limit).offset(offset)
    )
    return [trade_of(row) for row in rows], total


def _listing(session: Session, trades: list[Trade], total: int) -> dict[str, Any]:
    pnl = sum((t.pnl() for t in trades), ZERO)
    volume = sum((t.quantity * (t.entry_price or ZERO) for t in trades), ZERO)
    limits = limit_prices(session, trades)
    return {
        "trades": [trade_view(t, limits.get(t.id)) for t in trades],
        "count": len(trades),
        "total": total,
        "total_pnl": dec(pnl),
        "total_volume": dec(volume),
    }


def active_trades(
    desk: TradeDesk, scope: str | None, *, symbol: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """Open trades (pending and active), newest first; pnl marked to the newest stored close."""
    _settle_scope(desk, scope)
    query = _scoped(select(TradeRow).where(TradeRow.status.in_(OPEN_STATUSES)), scope)
    if symbol is not None:
        query = query.where(TradeRow.symbol == desk.bars.symbol(symbol).name)
    with desk.database.session() as session:
        return _listing(session, *_page(session, query, limit, offset))


def trade_history(
    desk: TradeDesk,
    scope: str | None,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    symbol: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Trades created in [start, end), every status unless ``status`` is given, newest first."""
    if start is not None and end is not None and start >= end:
        raise InvalidRequestError("start_date must be before end_date")
    _settle_scope(desk, scope)
    query = _scoped(select(TradeRow), scope)
    if symbol is not None:
        query = query.where(TradeRow.symbol == desk.bars.symbol(symbol).name)
    if status is not None:
        query = query.where(TradeRow.status == status)
    if start is not None:
        query = query.where(TradeRow.created_at >= start)
    if end is not None:
        query = query.where(TradeRow.created_at < end)
    with desk.database.session() as session:
        return _listing(session, *_page(session, query, limit, offset))


def _attempts(session: Session, trade_ids: list[str]) -> list[DcaAttempt]:
    query = select(DcaAttemptRow).where(DcaAttemptRow.trade_id.in_(trade_ids))
    return [
        attempt_of(r) for r in session.scalars(query.order_by(DcaAttemptRow.timestamp, DcaAttemptRow.attempt))
    ]


def _rate(attempts: list[DcaAttempt]) -> str | None:
    if not attempts:
        return None
    return f"{round(100 * sum(a.success for a in attempts) / len(attempts))}%"


def _risk_level(trade: Trade) -> str:
    """How far the stop-loss lies from the entry: within 2% low, 5% medium, further (or none) high."""
    entry = trade.entry_price or trade.last_price
    if trade.stop_loss is None or not entry:
        return "high"
    distance = abs(entry - trade.stop_loss) / entry
    return "low" if distance <= Decimal("0.02") else "medium" if distance <= Decimal("0.05") else "high"


def trade_detail(desk: TradeDesk, scope: str | None, trade_id: str) -> dict[str, Any]:
    """One trade with its DCA attempts; ``ml_confidence`` the model's confidence when a stored
    ``ml_predictive`` strategy opened it, else null."""
    owner = desk.owner_of(scope, trade_id)
    desk.settle(owner)
    desk.refresh_venues(owner)
    with desk.database.session() as session:
        row = session.get(TradeRow, trade_id)
        assert row is not None  # owner_of found it; trades are never deleted
        trade = trade_of(row)
        attempts = _attempts(session, [trade_id])
        confidence = ml_confidence(session, trade)
        limit = limit_prices(session, [trade]).get(trade_id)
    return {
        **trade_view(trade, limit),
        "dca_attempts": len(attempts),
        "dca_success_rate": _rate(attempts),
        "risk_level": _risk_level(trade),
        "ml_confidence": confidence,
        "dca_history": [attempt_view(a) for a in attempts],
    }


def execute_dca(
    desk: TradeDesk, scope: str | None, trade_id: str, *, volume: Decimal, reason: str
) -> dict[str, Any]:
    """Place a DCA order of ``volume`` units (base currency: ``0.0005`` BTC) on an active trade with
    DCA on, filled at the next bar's open. An attempt the balance or a risk rule refuses is recorded
    (the DCA history keeps every attempt) and then raised: the refusal is the answer."""
    owner = desk.owner_of(scope, trade_id)
    refusals: list[Exception] = []
    with desk.ledger(owner) as (session, book):
        desk.settle_into(session, book, owner)
        trade = desk.owned(session, book, owner, trade_id)
        paper_only(trade)
        _, dca = book.limits_for(owner)
        if not trade.is_open:
            raise TradeClosedError(f"trade {trade_id} is {trade.status.value}")
        if not (dca.enabled and trade.dca_enabled):
            raise DcaDisabledError(f"DCA is not enabled for trade {trade_id}")
        if trade.status is not TradeStatus.ACTIVE:
            raise InvalidRequestError(f"trade {trade_id} is not filled yet")
        waiting = [o for o in book.open_orders(trade.id) if o.purpose is OrderPurpose.DCA]
        made = len(book.attempts_of(trade.id)) + len(waiting)  # an order waiting for its bar counts
        allowed = min(trade.max_dca_attempts, dca.max_attempts)
        if made >= allowed:
            raise InvalidRequestError(f"trade {trade_id} has made all {allowed} DCA attempts")
        latest = desk.bars.latest(trade.symbol)
        price = Decimal(repr(latest.close)) if latest is not None else trade.last_price or ZERO
        now = desk.clock()
        client_id = f"dca-{trade_id}-{uuid.uuid4().hex[:12]}"
        placed = book.dca_order(trade, volume, price, now, client_id, refusals=refusals)
        if not isinstance(placed, DcaAttempt):
            placed.reason = reason
    if refusals:  # the failed attempt is committed; the refusal answers
        raise _recorded(refusals[0], made + 1)
    assert not isinstance(placed, DcaAttempt)
    return {
        "trade_id": trade_id,
        "dca_attempt": made + 1,
        "volume": dec(volume),
        "price": dec(price),
        "timestamp": isoformat_utc(now),
        "success": True,
        "status": "open",
        "order_id": placed.id,
        "reason": reason,
    }


def _recorded(refusal: Exception, attempt: int) -> Exception:
    """``refusal`` with the recorded attempt's number in its details."""
    details = dict(getattr(refusal, "details", None) or {})
    refusal.details = {**details, "dca_attempt": attempt, "recorded": True}  # type: ignore[attr-defined]
    return refusal


def dca_history(
    desk: TradeDesk,
    scope: str | None,
    *,
    trade_id: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int,
) -> dict[str, Any]:
    """DCA attempts, newest first."""
    _settle_scope(desk, scope)
    query = select(DcaAttemptRow).join(TradeRow, TradeRow.id == DcaAttemptRow.trade_id)
    if scope is not None:
        query = query.where(TradeRow.user_id == scope)
    if trade_id is not None:
        desk.owner_of(scope, trade_id)  # TRADE_NOT_FOUND for another user's trade
        query = query.where(DcaAttemptRow.trade_id == trade_id)
    if start is not None:
        query = query.where(DcaAttemptRow.timestamp >= start)
    if end is not None:
        query = query.where(DcaAttemptRow.timestamp < end)
    with desk.database.session() as session:
        rows = session.scalars(query.order_by(DcaAttemptRow.timestamp.desc()).limit(limit)).all()
        attempts = [attempt_of(r) for r in rows]
    return {
        "dca_attempts": [attempt_view(a) for a in attempts],
        "count": len(attempts),
        "success_rate": _rate(attempts),
    }


def _recovery(session: Session, scope: str | None) -> str | None:
    """Mean time from a closed winning trade's first DCA fill to its close, as ``2h 30m``."""
    query = (
        select(TradeRow.closed_at, func.min(DcaAttemptRow.timestamp))
        .join(DcaAttemptRow, DcaAttemptRow.trade_id == TradeRow.id)
        .where(TradeRow.status == "closed", TradeRow.realized_pnl >= 0, DcaAttemptRow.success.is_(True))
        .group_by(TradeRow.id, TradeRow.closed_at)
    )
    if scope is not None:
        query = query.where(TradeRow.user_id == scope)
    spans = [(closed - first).total_seconds() for closed, first in session.execute(query) if closed and first]
    if not spans:
        return None
    minutes = round(sum(spans) / len(spans) / 60)
    return f"{minutes // 60}h {minutes % 60}m"


def dca_status(desk: TradeDesk, scope: str | None) -> dict[str, Any]:
    """DCA on or off for the caller, its trades with DCA on, and the attempts' totals."""
    _settle_scope(desk, scope)
    with desk.database.session() as session:
        enabled = desk.limits(session, scope)[1].enabled if scope is not None else True
        trades = _scoped(select(TradeRow.id).where(TradeRow.dca_enabled.is_(True)), scope)
        active = _scoped(
            select(func.count()).where(TradeRow.dca_enabled.is_(True), TradeRow.status.in_(OPEN_STATUSES)),
            scope,
        )
        attempts = _attempts(session, list(session.scalars(trades)))
        active_count = session.scalar(active) or 0
        recovery = _recovery(session, scope)
    won = [a for a in attempts if a.success]
    return {
        "enabled": enabled,
        "active_trades": active_count,
        "total_attempts": len(attempts),
        "successful_attempts": len(won),
        "success_rate": _rate(attempts) or "0%",
        "total_volume": dec(sum((a.volume * (a.price or ZERO) for a in won), ZERO)),
        "average_recovery_time": recovery,
    }
