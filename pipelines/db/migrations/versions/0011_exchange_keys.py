"""Exchange credentials: users' venue API keys and secrets (encrypted), soft-deleted.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchange_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("encrypted_key", sa.Text(), nullable=False),
        sa.Column("encrypted_secret", sa.Text(), nullable=False),
        sa.Column("key_hint", sa.String(16), nullable=False),
        sa.Column("secret_hint", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("deactivated_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_keys")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_exchange_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.CheckConstraint("environment IN ('testnet', 'live')", name=op.f("ck_exchange_keys_environment")),
    )
    op.create_index(op.f("ix_exchange_keys_user_id"), "exchange_keys", ["user_id"])
    op.create_index(
        "ix_exchange_keys_user_provider", "exchange_keys", ["user_id", "provider_id", "environment"]
    )


def downgrade() -> None:
    op.drop_table("exchange_keys")
