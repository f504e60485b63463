"""Daily portfolio snapshots: one row per user and UTC date (total value, cash, positions).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money() -> sa.types.TypeEngine[Decimal]:
    """Exact decimals: NUMERIC(36, 18) on PostgreSQL, their text on SQLite (whose NUMERIC is a float)."""
    return sa.Numeric(36, 18).with_variant(sa.String(64), "sqlite")


def upgrade() -> None:
    op.create_table(
        "portfolio_snapshots",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total_value", _money(), nullable=False),
        sa.Column("cash", _money(), nullable=False),
        sa.Column("positions_value", _money(), nullable=False),
        sa.Column("positions", sa.JSON(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_portfolio_snapshots")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_portfolio_snapshots_user_id_users"), ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("portfolio_snapshots")
