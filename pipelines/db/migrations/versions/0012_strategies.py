"""Live strategies: each user's configured strategies and their status.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "strategies",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("activated_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_strategies_user_id_users"), ondelete="CASCADE"
        ),
        sa.CheckConstraint("status IN ('inactive', 'active')", name=op.f("ck_strategies_status")),
    )
    op.create_index(op.f("ix_strategies_user_id"), "strategies", ["user_id"])
    op.create_index(op.f("ix_strategies_status"), "strategies", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_strategies_status"), table_name="strategies")
    op.drop_index(op.f("ix_strategies_user_id"), table_name="strategies")
    op.drop_table("strategies")
