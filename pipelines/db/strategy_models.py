"""The live strategies table: a user's configured strategies and whether each is running.

Migrations ``0012_strategies`` and ``0014_strategy_runs`` create exactly this schema; a test compares
the two.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["STRATEGY_STATUSES", "LiveStrategy", "StrategyRunState"]

STRATEGY_STATUSES = ("inactive", "active")


def _new_id() -> str:
    return str(uuid.uuid4())


class LiveStrategy(Base):
    """One configured strategy of one user. ``type`` is a registered strategy name; ``params`` holds
    the symbols, timeframe, broker, capital, costs and the strategy's own (validated) parameters."""

    __tablename__ = "strategies"
    __table_args__ = (CheckConstraint("status IN ('inactive', 'active')", name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="inactive", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    activated_at: Mapped[dt.datetime | None]


class StrategyRunState(Base):
    """Where one runner of an active strategy stands (one row per symbol): its saved state, written
    with the orders of each bar, so a restart resumes after ``last_ts`` without a missed or repeated
    order. The window is not kept: it comes back from the stored bars."""

    __tablename__ = "strategy_runs"

    strategy_id: Mapped[str] = mapped_column(
        ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True
    )
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ts: Mapped[int | None] = mapped_column(BigInteger)  # the last bar processed, ns since the epoch
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
