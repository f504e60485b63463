"""Examples of the /datasets routes, and the upload form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar.datastructures import UploadFile
from litestar.params import KwargDefinition

from serving.dto import PRINTABLE_NAME
from serving.schemas.admin_examples import USER_ID

__all__ = [
    "DATASET", "DATASETS", "DATASET_DETAIL", "UploadForm",
]  # fmt: skip


@dataclass
class UploadForm:
    """The multipart form of ``POST /datasets/upload``."""

    file: UploadFile
    name: Annotated[str, KwargDefinition(min_length=1, max_length=200, pattern=PRINTABLE_NAME)]
    dataset_type: str  # classification, regression, ohlcv or image (and their aliases)
    description: str | None = None
    target: str | None = None  # the target column (classification, regression); inferred if absent


_ID = "3f2b8c1e-7d4a-4e9b-a0c5-6e1f2d3c4b5a"
DATASET: dict[str, Any] = {
    "id": _ID,
    "name": "My Dataset",
    "description": "Daily signals with a next-day direction label",
    "dataset_type": "classification",
    "file_name": "data.csv",
    "file_format": "csv",
    "file_size": 1024000,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "uploaded_at": "2024-01-01T00:00:00+00:00",
    "status": "processing",
    "progress": 0.0,
    "job_id": "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "user_id": USER_ID,
}
DATASET_DETAIL: dict[str, Any] = {
    **DATASET,
    "status": "ready",
    "progress": 100.0,
    "metadata": {
        "rows": 10000,
        "columns": 4,
        "features": ["rsi_14", "sma_20", "volume"],
        "target": "label",
        "target_source": "named 'label'",
        "rows_without_target": 0,
        "target_summary": {"num_classes": 2, "classes": {"up": 5210, "down": 4790}},
        "column_types": {
            "rsi_14": "numeric",
            "sma_20": "numeric",
            "volume": "numeric",
            "label": "categorical",
        },
        "missing_values": {"sma_20": 19},
        "constant_columns": [],
    },
}
DATASETS: dict[str, Any] = {
    "total": 1,
    "page": 1,
    "limit": 10,
    "pages": 1,
    "datasets": [{**DATASET, "status": "ready", "progress": 100.0}],
}
