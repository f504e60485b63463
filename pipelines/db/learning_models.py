"""The index of the training platform's models (``/models``): one row per model a training job
registered in MLflow, so that listing, paging and ownership checks read the app database instead
of the tracking store. MLflow stays the authority for the model's files and run; migration
``0022_job_detail`` creates exactly this schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["TrainedModel"]


class TrainedModel(Base):
    __tablename__ = "trained_models"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str] = mapped_column(String(36), unique=True)
    dataset_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(256))
    model_type: Mapped[str] = mapped_column(String(32), index=True)
    task: Mapped[str] = mapped_column(String(16))  # classification or regression
    accuracy: Mapped[float | None]  # validation accuracy (classifiers; None for regressors)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    registered_name: Mapped[str] = mapped_column(String(256))  # the MLflow registered model
    registered_version: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(1000))  # the model folder's artifact URI
    info: Mapped[dict[str, Any]] = mapped_column(JSON)  # architecture, performance, config, labels
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
