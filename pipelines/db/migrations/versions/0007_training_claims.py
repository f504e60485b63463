"""Training claims: the models that some worker is training now, one row per model name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_claims",
        sa.Column("model_name", sa.String(256), nullable=False),
        sa.Column("token", sa.String(36), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_training_claims")),
    )
    op.create_index(op.f("ix_training_claims_expires_at"), "training_claims", ["expires_at"])


def downgrade() -> None:
    op.drop_table("training_claims")
