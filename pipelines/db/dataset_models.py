"""The dataset table: files users upload (``/datasets``) and the job that processes each.

A dataset's status and metadata are not stored here: they are its processing job's (queued or
running: processing; completed: ready, with the job's result as metadata; failed or cancelled:
failed), so the two can never disagree. Migration ``0004_datasets`` creates exactly this schema.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["Dataset"]


def _new_id() -> str:
    return str(uuid.uuid4())


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_datasets_user_id_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    dataset_type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(200))  # the target column the user named
    file_name: Mapped[str] = mapped_column(String(255))  # as uploaded
    file_format: Mapped[str] = mapped_column(String(16))
    file_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
