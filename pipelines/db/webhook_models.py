"""The webhook tables: a user's endpoints and the log of every delivery made to them.

Migration ``0003_webhooks`` creates exactly this schema; a test compares the two.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["DELIVERY_STATUSES", "Webhook", "WebhookDelivery"]

DELIVERY_STATUSES = ("pending", "delivered", "failed")


def _new_id() -> str:
    return str(uuid.uuid4())


class Webhook(Base):
    """An endpoint of one user; ``encrypted_secret`` is the signing secret under Fernet, never plaintext."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    encrypted_secret: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class WebhookDelivery(Base):
    """One event sent (or to be sent) to one webhook, with the outcome of its latest attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        # The dispatcher's query: the pending deliveries that are due.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=utc_now)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
    delivered_at: Mapped[dt.datetime | None]
