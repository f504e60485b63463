"""Exchange trading: the key environment an exchange trade was placed with, and the venue balances
each sync reads.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money() -> sa.types.TypeEngine[Decimal]:
    """Exact decimals: NUMERIC(36, 18) on PostgreSQL, their text on SQLite (whose NUMERIC is a float)."""
    return sa.Numeric(36, 18).with_variant(sa.String(64), "sqlite")


def upgrade() -> None:
    op.add_column("trades", sa.Column("environment", sa.String(8), nullable=True))
    op.create_table(
        "venue_balances",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False),
        sa.Column("asset", sa.String(64), nullable=False),
        sa.Column("free", _money(), nullable=True),
        sa.Column("total", _money(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "venue", "environment", "asset", name=op.f("pk_venue_balances")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_venue_balances_user_id_users"), ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("venue_balances")
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("environment")
