"""The trading figures of /api/metrics/trading and /api/status, read from the trade store when asked
(every worker and the strategy runner write there, so any worker answers the same)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.sql.elements import SQLCoreOperations

from pipelines.app.trading_store import OPEN_STATUSES
from pipelines.db import Database
from pipelines.db.trading_models import DcaAttemptRow, OrderRow, TradeRow
from pipelines.trading.broker import OrderStatus
from pipelines.trading.records import TradeStatus

__all__ = ["RISK_RULES", "TradingFigures", "trading_figures"]

RISK_RULES = ("max_position_size", "daily_loss_limit", "max_drawdown", "allow_short")


@dataclass(frozen=True, slots=True)
class TradingFigures:
    active_trades: int = 0  # open trades: pending and active
    volume: Decimal = Decimal(0)  # notional of the active trades at their latest price
    dca_successful: int = 0
    dca_failed: dict[str, int] = field(default_factory=dict)  # by reason
    errors: dict[tuple[str, str], int] = field(default_factory=dict)  # by (error type, broker)


def _reason_kind(column: SQLCoreOperations[str | None]) -> ColumnElement[str]:
    """A failure's free-text reason as one of a few labels (the rule, insufficient_balance,
    trading_disabled, other): bounded label values whatever the messages say."""
    text = func.lower(func.coalesce(column, ""))
    whens: list[tuple[ColumnElement[bool], ColumnElement[str]]] = [
        (text.like(f"{rule}:%"), literal(rule)) for rule in RISK_RULES
    ]
    whens.append((or_(text.like("%balance%"), text.like("%lot%")), literal("insufficient_balance")))
    whens.append((or_(text.like("%disabled%"), text.like("%kill switch%")), literal("trading_disabled")))
    return case(*whens, else_=literal("other"))


def trading_figures(database: Database) -> TradingFigures:
    """Open trades, their notional, DCA attempts by outcome and rejected orders by reason and broker."""
    failed_kind = _reason_kind(DcaAttemptRow.reason)
    error_kind = _reason_kind(OrderRow.reason)
    with database.session() as session:
        active = session.scalar(select(func.count()).where(TradeRow.status.in_(OPEN_STATUSES))) or 0
        rows = session.execute(
            select(TradeRow.quantity, TradeRow.last_price, TradeRow.entry_price).where(
                TradeRow.status == TradeStatus.ACTIVE.value
            )
        ).all()
        successful = session.scalar(select(func.count()).where(DcaAttemptRow.success.is_(True))) or 0
        failed = session.execute(
            select(failed_kind, func.count()).where(DcaAttemptRow.success.is_(False)).group_by(failed_kind)
        ).all()
        errors = session.execute(
            select(error_kind, OrderRow.broker, func.count())
            .where(OrderRow.status == OrderStatus.REJECTED.value)
            .group_by(error_kind, OrderRow.broker)
        ).all()
    # Exact decimals are text on SQLite: the notional is summed here, not in SQL.
    volume = sum((q * (last or entry or Decimal(0)) for q, last, entry in rows), Decimal(0))
    return TradingFigures(
        active_trades=int(active),
        volume=volume,
        dca_successful=int(successful),
        dca_failed={str(k): int(n) for k, n in failed},
        errors={(str(k), str(b)): int(n) for k, b, n in errors},
    )
