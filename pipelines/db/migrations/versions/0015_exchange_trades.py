"""Exchange trades: a synced trade's venue id (stored once per user and broker) and an exchange
order's venue order id.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("trades", sa.Column("external_id", sa.String(96), nullable=True))
    op.create_index(
        "uq_trades_user_id_broker_external_id", "trades", ["user_id", "broker", "external_id"], unique=True
    )
    op.add_column("orders", sa.Column("venue_order_id", sa.String(96), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("venue_order_id")
    op.drop_index("uq_trades_user_id_broker_external_id", table_name="trades")
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("external_id")
