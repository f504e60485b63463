"""The portfolio use cases: a user's portfolio now (their open trades settled first, positions
marked to the newest stored close) and their venues' synced balances, its daily snapshots (taken by
the daily Dagster asset, and lazily for today when the history is read) and the value history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pipelines.app.trades import TradeDesk
from pipelines.app.trading_store import trade_of
from pipelines.app.venue_balances import venue_balances
from pipelines.db.models import User
from pipelines.db.trading_models import PaperBalanceRow, PortfolioSnapshotRow, TradeRow
from pipelines.errors import InvalidParameterError
from pipelines.trading.portfolio import PortfolioState, holdings, portfolio_state
from pipelines.trading.records import Held, TradeStatus, exact
from pipelines.trading.reserve import held_cost

__all__ = [
    "DEFAULT_HISTORY_DAYS",
    "MAX_HISTORY_DAYS",
    "current_portfolio",
    "exchange_balances",
    "portfolio_history",
    "snapshot_everyone",
    "take_snapshot",
    "value_series",
]

DEFAULT_HISTORY_DAYS = 30
MAX_HISTORY_DAYS = 3650


def _today(desk: TradeDesk) -> dt.date:
    return desk.clock().astimezone(dt.UTC).date()


def current_portfolio(desk: TradeDesk, user_id: str, *, day: dt.date | None = None) -> PortfolioState:
    """The user's portfolio now; ``daily_pnl`` against the latest snapshot before ``day`` (default
    today, UTC), else against the starting balance."""
    desk.settle(user_id)
    day = day or _today(desk)
    with desk.database.session() as session:
        rows_by_asset = session.execute(
            select(
                PaperBalanceRow.balance,
                PaperBalanceRow.held_buys,
                PaperBalanceRow.held_sells,
                PaperBalanceRow.margin,
            ).where(PaperBalanceRow.user_id == user_id)
        ).all()
        balances = [balance for balance, *_ in rows_by_asset]
        reserved = sum((held_cost(desk.costs, Held(*held)) for _, *held in rows_by_asset), Decimal(0))
        rows = session.scalars(
            select(TradeRow).where(
                TradeRow.user_id == user_id,
                TradeRow.status == TradeStatus.ACTIVE.value,
                TradeRow.external_id.is_(None),  # synced holdings: in their venue's balances instead
            )
        ).all()
        previous = session.scalar(
            select(PortfolioSnapshotRow.total_value)
            .where(PortfolioSnapshotRow.user_id == user_id, PortfolioSnapshotRow.day < day)
            .order_by(PortfolioSnapshotRow.day.desc())
            .limit(1)
        )
    trades = [trade_of(row) for row in rows]
    prices = {}
    for symbol in {t.symbol for t in trades}:
        bar = desk.bars.latest(symbol)
        if bar is not None:
            prices[symbol] = exact(bar.close)
    cash = sum(balances, Decimal(0)) if balances else desk.initial_balance
    starting = desk.initial_balance * max(1, len(balances))
    positions = holdings(trades, prices)
    return portfolio_state(cash, positions, starting=starting, previous_total=previous, reserved=reserved)


def exchange_balances(desk: TradeDesk, user_id: str) -> list[dict[str, Any]]:
    """The balances the user's venues reported at their last sync (not part of the paper cash)."""
    with desk.database.session() as session:
        return venue_balances(session, user_id)


def _upsert(session: Session, values: dict[str, Any]) -> None:
    """Insert the day's row or replace the one there (one statement: concurrent takers agree)."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(PortfolioSnapshotRow).values(**values)
    changed = {k: statement.excluded[k] for k in values if k not in ("user_id", "day")}
    session.execute(statement.on_conflict_do_update(index_elements=["user_id", "day"], set_=changed))


def take_snapshot(desk: TradeDesk, user_id: str, day: dt.date | None = None) -> PortfolioState:
    """Store the user's portfolio now as the snapshot of ``day`` (default today, UTC), replacing the
    day's row if there is one (re-running a day is harmless)."""
    day = day or _today(desk)
    state = current_portfolio(desk, user_id, day=day)
    values = {
        "user_id": user_id,
        "day": day,
        "total_value": state.total_value,
        "cash": state.cash,
        "positions_value": state.positions_value,
        "positions": state.positions_json(),
        "taken_at": desk.clock(),
    }
    with desk.database.transaction() as session:
        _upsert(session, values)
    return state


def snapshot_everyone(desk: TradeDesk, day: dt.date | None = None) -> int:
    """Take ``day``'s snapshot of every active user; the number taken."""
    with desk.database.session() as session:
        users = session.scalars(select(User.id).where(User.is_active.is_(True)).order_by(User.id)).all()
    for user_id in users:
        take_snapshot(desk, user_id, day)
    return len(users)


def value_series(desk: TradeDesk, user_id: str, since: dt.date | None = None) -> dict[dt.date, Decimal]:
    """The user's snapshot values by day from ``since`` (None: all), today's taken first if missing."""
    today = _today(desk)
    with desk.database.session() as session:
        has_today = session.get(PortfolioSnapshotRow, (user_id, today)) is not None
    if not has_today:
        take_snapshot(desk, user_id, today)
    query = select(PortfolioSnapshotRow.day, PortfolioSnapshotRow.total_value).where(
        PortfolioSnapshotRow.user_id == user_id
    )
    if since is not None:
        query = query.where(PortfolioSnapshotRow.day >= since)
    with desk.database.session() as session:
        return {day: value for day, value in session.execute(query.order_by(PortfolioSnapshotRow.day))}


def portfolio_history(
    desk: TradeDesk, user_id: str, days: int = DEFAULT_HISTORY_DAYS
) -> list[dict[str, Any]]:
    """``[{date, value}]`` of the last ``days`` days' snapshots (today's included), oldest first."""
    if not 1 <= days <= MAX_HISTORY_DAYS:
        raise InvalidParameterError(f"days {days} is out of range: 1 to {MAX_HISTORY_DAYS}")
    series = value_series(desk, user_id, _today(desk) - dt.timedelta(days=days - 1))
    return [{"date": day, "value": value} for day, value in series.items()]
