"""Exchange credentials: a user's API key and secret for one venue (a ccxt exchange or 3Commas).

The key and the secret are stored only encrypted (``SecretBox`` under the exchange-credentials
purpose); their hints (first and last characters) are what the API shows. Deleting a key deactivates
it: the row stays (``active`` false, ``deactivated_at`` set) so its history is kept, but it is never
listed nor used again. Migration ``0011_exchange_keys`` creates exactly this schema.

:class:`ExchangeSyncCursor` is where a key's exchange sync stopped reading a symbol's fills (the
newest fill's time), so the next sync resumes after it (migration ``0021_sync_cursors``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["ENVIRONMENTS", "ExchangeKey", "ExchangeSyncCursor"]

ENVIRONMENTS = ("testnet", "live")


def _new_id() -> str:
    return str(uuid.uuid4())


class ExchangeKey(Base):
    """One stored credential pair; ``encrypted_*`` are Fernet tokens, never plaintext."""

    __tablename__ = "exchange_keys"
    __table_args__ = (
        CheckConstraint("environment IN ('testnet', 'live')", name="environment"),
        # The brokers' lookup: a user's active key of one venue and environment.
        Index("ix_exchange_keys_user_provider", "user_id", "provider_id", "environment"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(100), default="")
    encrypted_key: Mapped[str] = mapped_column(Text)
    encrypted_secret: Mapped[str] = mapped_column(Text)
    key_hint: Mapped[str] = mapped_column(String(16))
    secret_hint: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    deactivated_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:  # never the tokens, even encrypted
        return (
            f"ExchangeKey(id={self.id!r}, user_id={self.user_id!r}, provider_id={self.provider_id!r}, "
            f"environment={self.environment!r}, active={self.active!r})"
        )


class ExchangeSyncCursor(Base):
    """The newest fill of ``symbol`` a sync with key ``key_id`` has stored (epoch milliseconds)."""

    __tablename__ = "exchange_sync_cursors"

    key_id: Mapped[str] = mapped_column(ForeignKey("exchange_keys.id", ondelete="CASCADE"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_fill_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
