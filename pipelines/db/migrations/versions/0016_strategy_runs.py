"""Live strategy runs: each active strategy's runner state per symbol; longer client order ids.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "strategy_runs",
        sa.Column("strategy_id", sa.String(36), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "symbol", name=op.f("pk_strategy_runs")),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_runs_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "client_order_id", existing_type=sa.String(64), type_=sa.String(128), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "client_order_id", existing_type=sa.String(128), type_=sa.String(64), existing_nullable=False
        )
    op.drop_table("strategy_runs")
