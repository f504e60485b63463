"""Jobs run by Celery workers on other hosts: the worker's host, its latest heartbeat, and the last
state the API announced (job events) for a job a worker runs.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("worker_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("announced_status", sa.String(16), nullable=True))
    op.create_index(op.f("ix_jobs_announced_status"), "jobs", ["announced_status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_jobs_announced_status"), table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("announced_status")
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker_host")
