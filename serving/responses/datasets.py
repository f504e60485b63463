"""Answers of the /datasets routes."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from serving.responses import Shape

__all__ = ["Dataset", "DatasetDetail", "DatasetList"]


class Dataset(Shape):
    id: str
    name: str
    description: str | None
    dataset_type: str
    file_name: str
    file_format: str
    file_size: int
    sha256: str
    uploaded_at: str
    status: str  # processing, ready or failed
    progress: float
    job_id: str | None
    user_id: str
    error: str | UnsetType | None = UNSET  # when processing failed


class DatasetDetail(Dataset, kw_only=True):
    metadata: dict[str, Any] | None


class DatasetList(Shape):
    total: int
    page: int
    limit: int
    pages: int
    datasets: list[Dataset]
