"""Model owners: the user who owns each registered model (its first trainer through the API).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_owners",
        sa.Column("model_name", sa.String(256), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_model_owners")),
    )
    op.create_index(op.f("ix_model_owners_user_id"), "model_owners", ["user_id"])


def downgrade() -> None:
    op.drop_table("model_owners")
