"""Datasets: files users upload for training, processed by a job.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("dataset_type", sa.String(32), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_datasets_user_id_users"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("user_id", "name", name="uq_datasets_user_id_name"),
    )
    op.create_index(op.f("ix_datasets_user_id"), "datasets", ["user_id"])
    op.create_index(op.f("ix_datasets_job_id"), "datasets", ["job_id"])
    op.create_index(op.f("ix_datasets_created_at"), "datasets", ["created_at"])


def downgrade() -> None:
    op.drop_table("datasets")
