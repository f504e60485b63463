"""The live strategies table: a user's configured strategies and whether each is running.

Migration ``0012_strategies`` creates exactly this schema; a test compares the two.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["STRATEGY_STATUSES", "LiveStrategy"]

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
