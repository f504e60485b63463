"""Where each exchange key's sync stopped reading a symbol's fills, so the next one resumes there.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_sync_cursors",
        sa.Column(
            "key_id", sa.String(36), sa.ForeignKey("exchange_keys.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("last_fill_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "symbol"),
    )


def downgrade() -> None:
    op.drop_table("exchange_sync_cursors")
