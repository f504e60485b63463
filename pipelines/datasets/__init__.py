"""Datasets users upload, as tables: their formats, checks by type and storage (the catalogue and
the processing job that use them are ``pipelines.app.datasets`` and ``pipelines.app.dataset_job``)."""

from __future__ import annotations

from pipelines.datasets.files import DatasetFiles, SavedUpload
from pipelines.datasets.formats import FORMATS, file_format, read_table
from pipelines.datasets.profile import DATASET_TYPES, Processed, check_dataset_type, process

__all__ = [
    "DATASET_TYPES",
    "FORMATS",
    "DatasetFiles",
    "Processed",
    "SavedUpload",
    "check_dataset_type",
    "file_format",
    "process",
    "read_table",
]
