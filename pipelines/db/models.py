"""The app-state tables: users, API keys and the request, prediction and error logs.

Migrations in ``pipelines/db/migrations`` create exactly this schema; a test compares the two.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pipelines.db.types import FiniteFloat, UTCDateTime, utc_now

__all__ = [
    "ROLES",
    "TIERS",
    "ApiKey",
    "Base",
    "ErrorLog",
    "LogRow",
    "LoginThrottle",
    "MetricsSnapshot",
    "PendingLog",
    "PredictionLog",
    "RequestLog",
    "User",
]

ROLES = ("user", "admin")
TIERS = ("free", "pro", "enterprise")

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# 64-bit ids for the ever-growing logs; SQLite needs plain INTEGER for its auto-increment rowid alias.
LogId = BigInteger().with_variant(Integer(), "sqlite")


def _new_id() -> str:
    return str(uuid.uuid4())


def username_key(username: str) -> str:
    """The form usernames are compared in: case-insensitive, so "ALICE" and "alice" are one name."""
    return username.lower()


def _username_key_default(context: Any) -> str:
    return username_key(str(context.get_current_parameters()["username"]))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime(), float: FiniteFloat()}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'admin')", name="role"),
        CheckConstraint("tier IN ('free', 'pro', 'enterprise')", name="tier"),
        # Unique, so that two names differing only by case cannot both exist, even under a race.
        Index("uq_users_username_key", "username_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # ``username_key(username)``; wider than a username, as accounts whose names clashed before
    # names were compared this way keep a key suffixed with their id (they are reached by id).
    username_key: Mapped[str] = mapped_column(String(128), default=_username_key_default)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    tier: Mapped[str] = mapped_column(String(16), default="free")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Carried in every JWT; raised on a disable, delete or role change, so older tokens stop working.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Raised by every write to the user's trading ledger (paper and venue trades, orders, balances, DCA
    # attempts, trading configuration): the strategy leader keeps the ledger between ticks while it holds.
    ledger_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class LoginThrottle(Base):
    """Failed password logins per username key (whether or not such a user exists, so that the
    answers tell nothing about which accounts exist), and until when further attempts are refused."""

    __tablename__ = "login_throttle"

    username_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(index=True)
    locked_until: Mapped[dt.datetime | None]


class PredictionLog(Base):
    __tablename__ = "prediction_log"

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(64))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    signal: Mapped[float | None]
    confidence: Mapped[float | None]
    predicted_return: Mapped[float | None]
    value: Mapped[float | None]
    direction: Mapped[str | None] = mapped_column(String(8))
    recommendation: Mapped[str | None] = mapped_column(String(8))
    current_price: Mapped[float | None]
    latency_ms: Mapped[float | None]
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
    # The content hash of the data the prediction's features came from (None: not known, e.g. an
    # ensemble's combined answer or a row logged before versions were recorded).
    data_version: Mapped[str | None] = mapped_column(String(64))
    # The indicator values of the bar the prediction was made on (``rsi``, ``macd``,
    # ``bollinger_position``; None: not recorded, e.g. an ensemble's answer or an older row).
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class RequestLog(Base):
    __tablename__ = "request_log"

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(300))
    status_code: Mapped[int]
    duration_ms: Mapped[float]
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)


class ErrorLog(Base):
    __tablename__ = "error_log"

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(String(2000))
    status_code: Mapped[int]
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)


class MetricsSnapshot(Base):
    __tablename__ = "metrics_snapshot"

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    path: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


LogRow = PredictionLog | RequestLog | ErrorLog
# A log row as plain values: (table class, column values). Building an ORM object costs 15-50 us;
# the API submits these on its request path and the writer inserts them in bulk through Core.
PendingLog = tuple[type[PredictionLog] | type[RequestLog] | type[ErrorLog], dict[str, Any]]
