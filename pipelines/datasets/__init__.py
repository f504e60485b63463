"""Datasets users upload (``/datasets``): formats, checks by type, storage, the processing job and
the catalogue."""

from __future__ import annotations

from pipelines.datasets.catalog import (
    DATASET_STATUSES,
    OPERATOR,
    SORT_FIELDS,
    DatasetCatalog,
    DatasetPage,
    DatasetView,
    UploadRequest,
    check_upload,
)
from pipelines.datasets.files import DatasetFiles, SavedUpload
from pipelines.datasets.formats import FORMATS, file_format, read_table
from pipelines.datasets.profile import DATASET_TYPES, Processed, check_dataset_type, process
from pipelines.datasets.task import DATASET_JOB, dataset_task

__all__ = [
    "DATASET_JOB",
    "DATASET_STATUSES",
    "DATASET_TYPES",
    "FORMATS",
    "OPERATOR",
    "SORT_FIELDS",
    "DatasetCatalog",
    "DatasetFiles",
    "DatasetPage",
    "DatasetView",
    "Processed",
    "SavedUpload",
    "UploadRequest",
    "check_dataset_type",
    "check_upload",
    "dataset_task",
    "file_format",
    "process",
    "read_table",
]
