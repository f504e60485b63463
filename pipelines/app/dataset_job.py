"""The job that processes an uploaded dataset: read, check against its type, store as Parquet (an
image dataset: decode its images and store them as arrays).

It runs in a job worker (``pipelines.jobs``), so a large file is parsed off the server's threads,
within the queue's resource admission, with progress on the task-event stream. Its result is the
dataset's metadata; the catalogue reads status and metadata from the job, and the server sends
the ``dataset.processed`` webhook when it finishes.
"""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.datasets.files import DatasetFiles
from pipelines.datasets.formats import FORMATS, data_members, file_format, file_suffix, read_table
from pipelines.datasets.images import ImageLimits, image_metadata, read_image_zip
from pipelines.datasets.profile import check_dataset_type, process
from pipelines.errors import InvalidRequestError, TradeforgeError
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.settings import Settings

__all__ = ["DATASET_JOB", "data_bytes", "dataset_task", "estimate_ram_gb"]

DATASET_JOB = "dataset"
_KEYS = ("dataset_id", "name", "file_name", "file_format", "dataset_type", "target", "data_bytes")
# RAM per byte of data, by format: a parsed table in pandas plus its Arrow copy while it is written.
# Measured peaks on a numeric table with a text label: CSV 1.8x, JSON 4.9x (Python objects of every
# row first), Parquet 3.7x (it arrives compressed); text columns cost more, hence the margin.
# Images: the decoded array, written once (``image`` counts decoded bytes, not the upload's).
_RAM_PER_BYTE = {"csv": 3.0, "tsv": 3.0, "json": 12.0, "jsonl": 12.0, "parquet": 8.0, "image": 1.5}
_BASE_RAM_GB = 0.5  # the worker process itself: pandas, pyarrow, the pipelines
_GZIP_RATIO = 5  # a gzipped CSV is read at about five times its size


def _validate(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    unknown = sorted(set(params) - set(_KEYS))
    missing = sorted(set(_KEYS) - set(params) - {"target", "data_bytes"})
    if unknown or missing:
        raise InvalidRequestError(
            f"dataset job parameters: unknown {unknown or 'none'}, missing {missing or 'none'}"
        )
    if params["file_format"] not in FORMATS:
        raise InvalidRequestError(f"unknown file_format {params['file_format']!r}")
    dataset_type = check_dataset_type(str(params["dataset_type"]))
    suffix = file_suffix(str(params["file_name"]))
    upload = DatasetFiles(settings.datasets_dir).upload_path(str(params["dataset_id"]), suffix)
    if not upload.is_file():
        raise InvalidRequestError(f"dataset {params['dataset_id']} has no uploaded file to process")
    checked = dict(params, dataset_type=dataset_type, target=params.get("target"))
    checked["data_bytes"] = (
        _image_bytes(upload, settings)
        if dataset_type == "image"
        else data_bytes(upload, str(params["file_format"]))
    )
    return checked


def data_bytes(upload: Path, fmt: str) -> dict[str, int]:
    """Bytes of data by format: the file's size, or for a ZIP its members' (from its directory)."""
    if fmt != "zip":
        return {fmt: upload.stat().st_size * (_GZIP_RATIO if upload.name.endswith(".gz") else 1)}
    sizes: dict[str, int] = {}
    try:
        with zipfile.ZipFile(upload) as archive:
            for member in data_members(archive):
                with contextlib.suppress(InvalidRequestError):  # the job says what is wrong with it
                    name = PurePosixPath(member.filename).name
                    size = member.file_size * (_GZIP_RATIO if name.lower().endswith(".gz") else 1)
                    inner = file_format(name)
                    sizes[inner] = sizes.get(inner, 0) + size
    except Exception:  # BadZipFile, NotImplementedError, UnicodeDecodeError: the job says what is wrong
        pass
    return sizes


def _image_bytes(upload: Path, settings: Settings) -> dict[str, int]:
    """An image ZIP's decoded size: its images (counted from its directory, at most the allowed
    number) at the configured shape, 3 bytes a pixel."""
    try:
        with zipfile.ZipFile(upload) as archive:
            count = len(data_members(archive))
    except Exception:  # the job says what is wrong with it
        count = 0
    uploads = settings.uploads
    count = min(count, uploads.image_max_count)
    return {"image": count * uploads.image_height * uploads.image_width * 3}


def estimate_ram_gb(params: dict[str, Any]) -> float:
    """What processing ``params``'s file needs (GB): the worker plus each format's bytes times the
    format's expansion (``_RAM_PER_BYTE``)."""
    sizes: dict[str, int] = params.get("data_bytes") or {}
    return _BASE_RAM_GB + sum(_RAM_PER_BYTE.get(fmt, 12.0) * size for fmt, size in sizes.items()) / 1e9


@register_task(
    DATASET_JOB,
    cpu_cores=0.5,
    ram_gb=1.0,
    validate=_validate,
    describe=lambda p: f"Processing dataset {p.get('name')} ({p.get('file_name')})...",
    estimate_ram=estimate_ram_gb,
)
def dataset_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    settings = progress.settings
    files = DatasetFiles(settings.datasets_dir)
    dataset_id, origin = str(params["dataset_id"]), str(params["file_name"])
    upload = files.upload_path(dataset_id, file_suffix(origin))
    progress.update(5.0, f"Processing dataset {params['name']}: reading {origin}...")
    try:
        return _process(params, progress, files, upload, dataset_id, origin)
    except Exception as exc:  # the reason reaches the user: it names the upload, never the server's paths
        text = str(exc) if isinstance(exc, TradeforgeError) else f"{type(exc).__name__}: {exc}"
        folder = str(files.folder(dataset_id))
        raise InvalidRequestError(text.replace(str(upload), origin).replace(folder, "")) from None


def _process(
    params: dict[str, Any],
    progress: ProgressReporter,
    files: DatasetFiles,
    upload: Path,
    dataset_id: str,
    origin: str,
) -> dict[str, Any]:
    settings = progress.settings
    if params["dataset_type"] == "image":
        return _process_images(params, progress, files, upload, dataset_id, origin)
    try:  # the upload is not kept after processing, whatever its outcome: a failed one is re-uploaded
        frame = read_table(
            upload,
            str(params["file_format"]),
            origin=origin,
            max_unzipped_bytes=settings.uploads.dataset_max_unzipped_mb * 1_000_000,
        )
        progress.update(50.0, f"Processing dataset {params['name']}: checking {len(frame):,} rows...")
        processed = process(frame, str(params["dataset_type"]), target=params.get("target"), origin=origin)
        progress.update(
            80.0, f"Processing dataset {params['name']}: storing {len(processed.frame):,} rows..."
        )
        files.write_data(dataset_id, processed.frame)
    finally:
        upload.unlink(missing_ok=True)
    return {"dataset_id": dataset_id, "metadata": processed.metadata}


def _process_images(
    params: dict[str, Any],
    progress: ProgressReporter,
    files: DatasetFiles,
    upload: Path,
    dataset_id: str,
    origin: str,
) -> dict[str, Any]:
    uploads = progress.settings.uploads
    limits = ImageLimits(
        height=uploads.image_height,
        width=uploads.image_width,
        max_images=uploads.image_max_count,
        max_pixels=uploads.image_max_pixels,
        max_unzipped_bytes=uploads.dataset_max_unzipped_mb * 1_000_000,
    )
    try:  # as for tables, the upload goes whatever the outcome
        images = read_image_zip(upload, origin=origin, limits=limits)
        progress.update(
            80.0, f"Processing dataset {params['name']}: storing {len(images.labels):,} images..."
        )
        files.write_images(dataset_id, images.images, images.labels)
    finally:
        upload.unlink(missing_ok=True)
    return {"dataset_id": dataset_id, "metadata": image_metadata(images)}
