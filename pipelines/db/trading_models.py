"""The trading tables: paper balances per user and currency, orders, trades, DCA attempts, the
daily portfolio snapshots and the venue balances read by syncs.

Migrations ``0013_trading``, ``0014_portfolio_snapshots``, ``0015_exchange_trades``,
``0017_venue_trading`` and ``0020_order_reserve`` create exactly this schema; a test compares the
two. Money is exact decimals on SQLite and PostgreSQL alike (``ExactDecimal``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import ExactDecimal, utc_now

__all__ = [
    "DcaAttemptRow",
    "OrderRow",
    "PaperBalanceRow",
    "PortfolioSnapshotRow",
    "TradeRow",
    "VenueBalanceRow",
]

Money = ExactDecimal()


def _new_id() -> str:
    return str(uuid.uuid4())


class PaperBalanceRow(Base):
    """A user's paper cash in one quote currency, the highest equity seen (the drawdown rule's peak):
    the cash plus the active paper positions in that currency marked to their last price, and what the
    user's open paper records in that currency hold, kept by the ledger's writes: the notionals of
    the open entry and addition orders that buy and that sell (their ``reserve``), and the active
    shorts' margin (``pipelines.trading.reserve``)."""

    __tablename__ = "paper_balances"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money)
    peak: Mapped[Decimal] = mapped_column(Money)
    held_buys: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    held_sells: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    margin: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class TradeRow(Base):
    __tablename__ = "trades"
    __table_args__ = (
        Index("ix_trades_user_id_status", "user_id", "status"),
        Index("ix_trades_user_id_symbol", "user_id", "symbol"),
        Index("uq_trades_user_id_broker_external_id", "user_id", "broker", "external_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(8))  # long | short
    broker: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending | active | closed | cancelled
    quantity: Mapped[Decimal] = mapped_column(Money)
    entry_price: Mapped[Decimal | None] = mapped_column(Money)
    exit_price: Mapped[Decimal | None] = mapped_column(Money)
    last_price: Mapped[Decimal | None] = mapped_column(Money)
    stop_loss: Mapped[Decimal | None] = mapped_column(Money)
    take_profit: Mapped[Decimal | None] = mapped_column(Money)
    dca_enabled: Mapped[bool] = mapped_column(default=False)
    max_dca_attempts: Mapped[int] = mapped_column(default=0)
    strategy_id: Mapped[str | None] = mapped_column(String(64))
    realized_pnl: Mapped[Decimal] = mapped_column(Money)
    commission: Mapped[Decimal] = mapped_column(Money)
    close_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
    updated_at: Mapped[dt.datetime | None]
    opened_at: Mapped[dt.datetime | None]  # the entry bar's open time
    closed_at: Mapped[dt.datetime | None]
    settled_to: Mapped[dt.datetime | None]  # the last stored bar applied to it
    # The venue's id of a synced trade (``trade:BTC/USDT:28457``, ``deal:1234``): stored once per user
    external_id: Mapped[str | None] = mapped_column(String(96))
    environment: Mapped[str | None] = mapped_column(String(8))  # an exchange trade's key: testnet | live


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("user_id", "client_order_id", name="uq_orders_user_id_client_order_id"),
        Index("ix_orders_user_id_status", "user_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_order_id: Mapped[str] = mapped_column(String(128))  # a strategy's ids run past 64
    broker: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(8))  # buy | sell
    type: Mapped[str] = mapped_column(String(8))  # market | limit | stop
    purpose: Mapped[str] = mapped_column(String(8))  # entry | dca | exit
    quantity: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))
    filled_quantity: Mapped[Decimal] = mapped_column(Money)
    average_price: Mapped[Decimal | None] = mapped_column(Money)
    commission: Mapped[Decimal] = mapped_column(Money)
    trade_id: Mapped[str | None] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime | None]
    venue_order_id: Mapped[str | None] = mapped_column(String(96))  # an exchange order's broker order id
    # The notional an open paper entry or addition holds (fixed when stored; 0: holds nothing).
    reserve: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")


class DcaAttemptRow(Base):
    __tablename__ = "dca_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    trade_id: Mapped[str] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int]
    price: Mapped[Decimal | None] = mapped_column(Money)
    volume: Mapped[Decimal] = mapped_column(Money)
    success: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[dt.datetime] = mapped_column(default=utc_now)


class PortfolioSnapshotRow(Base):
    """A user's portfolio at the end of one UTC day (the latest taken that day): one row per user and
    date, replaced when the day is taken again."""

    __tablename__ = "portfolio_snapshots"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    total_value: Mapped[Decimal] = mapped_column(Money)
    cash: Mapped[Decimal] = mapped_column(Money)
    positions_value: Mapped[Decimal] = mapped_column(Money)
    positions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    taken_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class VenueBalanceRow(Base):
    """A user's balance of one asset on one venue and environment, as its last sync read it (the
    rows of a venue are replaced together at each sync)."""

    __tablename__ = "venue_balances"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    venue: Mapped[str] = mapped_column(String(32), primary_key=True)
    environment: Mapped[str] = mapped_column(String(8), primary_key=True)
    asset: Mapped[str] = mapped_column(String(64), primary_key=True)
    free: Mapped[Decimal | None] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    synced_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
