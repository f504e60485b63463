"""A job's structured progress detail (the training platform's epoch and metrics), and the index of
the training platform's models.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
    op.create_table(
        "trained_models",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("model_type", sa.String(32), nullable=False),
        sa.Column("task", sa.String(16), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("registered_name", sa.String(256), nullable=False),
        sa.Column("registered_version", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trained_models")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trained_models_user_id_users"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("job_id", name=op.f("uq_trained_models_job_id")),
    )
    op.create_index(op.f("ix_trained_models_user_id"), "trained_models", ["user_id"])
    op.create_index(op.f("ix_trained_models_model_type"), "trained_models", ["model_type"])
    op.create_index(op.f("ix_trained_models_created_at"), "trained_models", ["created_at"])


def downgrade() -> None:
    op.drop_table("trained_models")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("detail")
