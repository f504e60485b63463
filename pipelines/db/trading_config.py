"""Each user's trading configuration: one row per user holding its JSON form (only the sections
and fields ``pipelines.trading.config`` defines, validated before they are written).

``version`` counts the row's writes; a writer reads the row under a row lock (``FOR UPDATE`` on
PostgreSQL; SQLite's writers hold the database's write lock for their whole transaction), so two
overlapping updates apply one after the other and neither loses the other's fields. Migration
``0013_trading_config`` creates exactly this schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["TradingConfigRow", "load_trading_config_row"]


class TradingConfigRow(Base):
    """The stored configuration of ``user_id`` (a user without a row has the defaults)."""

    __tablename__ = "trading_configs"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)


def load_trading_config_row(
    session: Session, user_id: str, *, for_update: bool = False
) -> TradingConfigRow | None:
    """The user's row (locked until the transaction ends when ``for_update``), or None."""
    query = select(TradingConfigRow).where(TradingConfigRow.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)
