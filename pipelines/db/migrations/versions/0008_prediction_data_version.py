"""Prediction log: the data version each served prediction's features came from.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("prediction_log", sa.Column("data_version", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prediction_log") as batch:
        batch.drop_column("data_version")
