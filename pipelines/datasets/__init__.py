"""Datasets users upload, as tables or (``image``) as ZIPs of class folders: their formats, checks
by type and storage (the catalogue and the processing job that use them are
``pipelines.app.datasets`` and ``pipelines.app.dataset_job``)."""

from __future__ import annotations

from pipelines.datasets.files import DatasetFiles, SavedUpload
from pipelines.datasets.formats import FORMATS, file_format, read_table
from pipelines.datasets.images import ImageLimits, ImageSet, decode_image, image_metadata, read_image_zip
from pipelines.datasets.profile import DATASET_TYPES, Processed, check_dataset_type, process

__all__ = [
    "DATASET_TYPES",
    "FORMATS",
    "DatasetFiles",
    "ImageLimits",
    "ImageSet",
    "Processed",
    "SavedUpload",
    "check_dataset_type",
    "decode_image",
    "file_format",
    "image_metadata",
    "process",
    "read_image_zip",
    "read_table",
]
