"""Paper trading: balances, trades, orders (client order id unique per user) and DCA attempts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _money() -> sa.types.TypeEngine[Decimal]:
    """Exact decimals: NUMERIC(36, 18) on PostgreSQL, their text on SQLite (whose NUMERIC is a float)."""
    return sa.Numeric(36, 18).with_variant(sa.String(64), "sqlite")


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def _trade_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["trade_id"], ["trades.id"], name=op.f(f"fk_{table}_trade_id_trades"), ondelete="CASCADE"
    )


def upgrade() -> None:
    _balances()
    _trades()
    _orders()
    _attempts()


def _balances() -> None:
    op.create_table(
        "paper_balances",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("balance", _money(), nullable=False),
        sa.Column("peak", _money(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "asset", name=op.f("pk_paper_balances")),
        _user_fk("paper_balances"),
    )


def _trades() -> None:
    op.create_table(
        "trades",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("broker", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("quantity", _money(), nullable=False),
        sa.Column("entry_price", _money(), nullable=True),
        sa.Column("exit_price", _money(), nullable=True),
        sa.Column("last_price", _money(), nullable=True),
        sa.Column("stop_loss", _money(), nullable=True),
        sa.Column("take_profit", _money(), nullable=True),
        sa.Column("dca_enabled", sa.Boolean(), nullable=False),
        sa.Column("max_dca_attempts", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=True),
        sa.Column("realized_pnl", _money(), nullable=False),
        sa.Column("commission", _money(), nullable=False),
        sa.Column("close_reason", sa.String(200), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=True),
        sa.Column("opened_at", _utc(), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("settled_to", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
        _user_fk("trades"),
    )
    op.create_index(op.f("ix_trades_created_at"), "trades", ["created_at"])
    op.create_index("ix_trades_user_id_status", "trades", ["user_id", "status"])
    op.create_index("ix_trades_user_id_symbol", "trades", ["user_id", "symbol"])


def _orders() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("broker", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("quantity", _money(), nullable=False),
        sa.Column("price", _money(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filled_quantity", _money(), nullable=False),
        sa.Column("average_price", _money(), nullable=True),
        sa.Column("commission", _money(), nullable=False),
        sa.Column("trade_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("user_id", "client_order_id", name="uq_orders_user_id_client_order_id"),
        _user_fk("orders"),
        _trade_fk("orders"),
    )
    op.create_index("ix_orders_user_id_status", "orders", ["user_id", "status"])
    op.create_index(op.f("ix_orders_trade_id"), "orders", ["trade_id"])


def _attempts() -> None:
    op.create_table(
        "dca_attempts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("trade_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("price", _money(), nullable=True),
        sa.Column("volume", _money(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("timestamp", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dca_attempts")),
        _trade_fk("dca_attempts"),
    )
    op.create_index(op.f("ix_dca_attempts_trade_id"), "dca_attempts", ["trade_id"])


def downgrade() -> None:
    op.drop_table("dca_attempts")
    op.drop_table("orders")
    op.drop_table("trades")
    op.drop_table("paper_balances")
