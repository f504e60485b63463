"""The job table of the durable job queue (``pipelines.jobs``).

A job's place in the queue is not stored: it is derived from the queued jobs created before it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["JOB_STATUSES", "TERMINAL_STATUSES", "Job"]

JOB_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


def _new_id() -> str:
    return str(uuid.uuid4())


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'completed', 'failed', 'cancelled')", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(default=0.0)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the task's structured progress
    description: Mapped[str] = mapped_column(String(500), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    est_cpu_cores: Mapped[float] = mapped_column(default=1.0)
    est_ram_gb: Mapped[float] = mapped_column(default=0.5)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    worker_pid: Mapped[int | None]
    # Jobs run by Celery workers (``TRADEFORGE_JOB_BROKER_URL``): the worker's host, its latest
    # heartbeat (a running job whose heartbeat goes stale is failed), and the last state the API
    # announced as a job event (None once its final state was announced, and for local jobs).
    worker_host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[dt.datetime | None]
    announced_status: Mapped[str | None] = mapped_column(String(16), index=True)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES
