"""Where a dataset's files live: ``$TRADEFORGE_HOME/datasets/<id>/``.

``upload<suffix>`` is the file as uploaded, kept until processing has read it; ``data.parquet`` is
the processed table (an image dataset has ``images.npy``, uint8 (n, height, width, 3), and
``labels.npy``, each image's class name, instead). All are written to a temporary name and renamed
into place, so a reader never sees half a file and a failed upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from pipelines.atomic import atomic_target
from pipelines.data.store import atomic_write_table
from pipelines.errors import InvalidRequestError, PayloadTooLargeError, TradeforgeError
from pipelines.settings import Settings

__all__ = ["DatasetFiles", "SavedUpload", "stored_bars"]

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SavedUpload:
    path: Path
    size: int
    sha256: str


class DatasetFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, dataset_id: str) -> Path:
        try:
            canonical = str(uuid.UUID(dataset_id))
        except ValueError:
            raise InvalidRequestError(f"dataset id {dataset_id!r} is not a UUID") from None
        return self.root / canonical

    def upload_path(self, dataset_id: str, suffix: str) -> Path:
        return self.folder(dataset_id) / f"upload{suffix}"

    def data_path(self, dataset_id: str) -> Path:
        return self.folder(dataset_id) / "data.parquet"

    def images_path(self, dataset_id: str) -> Path:
        return self.folder(dataset_id) / "images.npy"

    def labels_path(self, dataset_id: str) -> Path:
        return self.folder(dataset_id) / "labels.npy"

    def save_upload(self, dataset_id: str, source: BinaryIO, suffix: str, *, max_bytes: int) -> SavedUpload:
        """Copy ``source`` into the dataset's folder (new), hashing it; too big or empty is refused."""
        folder = self.folder(dataset_id)
        folder.mkdir(parents=True, exist_ok=False)
        target = self.upload_path(dataset_id, suffix)
        digest, size = hashlib.sha256(), 0
        try:
            with atomic_target(target) as tmp_path, tmp_path.open("xb") as tmp:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLargeError(
                            f"the file is larger than the {max_bytes / 1e6:.0f} MB an upload may be"
                        )
                    digest.update(chunk)
                    tmp.write(chunk)
                if size == 0:
                    raise InvalidRequestError("the uploaded file is empty")
        except BaseException:
            self.remove(dataset_id)
            raise
        return SavedUpload(target, size, digest.hexdigest())

    def write_data(self, dataset_id: str, frame: pd.DataFrame) -> Path:
        """Write the processed table atomically into the dataset's folder, which must still exist:
        a dataset deleted while it was processed is not brought back."""
        path = self.data_path(dataset_id)
        try:
            atomic_write_table(pa.Table.from_pandas(frame, preserve_index=False), path, make_parent=False)
        except FileNotFoundError:
            raise InvalidRequestError(f"dataset {dataset_id} was deleted while it was processed") from None
        return path

    def write_images(self, dataset_id: str, images: NDArray[np.uint8], labels: NDArray[np.str_]) -> None:
        """Write an image dataset's arrays atomically (labels last: a reader checks for them); its
        folder must still exist, as for ``write_data``."""
        try:
            for path, array in (
                (self.images_path(dataset_id), images),
                (self.labels_path(dataset_id), labels),
            ):
                with atomic_target(path) as tmp, tmp.open("xb") as handle:
                    np.save(handle, array, allow_pickle=False)
        except FileNotFoundError:
            raise InvalidRequestError(f"dataset {dataset_id} was deleted while it was processed") from None

    def read_images(self, dataset_id: str) -> tuple[NDArray[np.uint8], NDArray[np.str_]]:
        """An image dataset's images and labels (memory-mapped images: a trainer copies what it uses)."""
        labels_path = self.labels_path(dataset_id)
        if not labels_path.is_file():
            raise InvalidRequestError(f"dataset {dataset_id} holds no processed images")
        labels = np.load(labels_path, allow_pickle=False)
        images = np.load(self.images_path(dataset_id), mmap_mode="r", allow_pickle=False)
        return images, labels

    def remove(self, dataset_id: str) -> None:
        shutil.rmtree(self.folder(dataset_id), ignore_errors=True)


@contextmanager
def stored_bars(
    settings: Settings, dataset_id: str | None, source: str | None
) -> Iterator[tuple[str | None, str | None]]:
    """(source, path) of the bars to read: ``("file", <the dataset's stored table>)`` for a
    ``dataset_id``, else ``(source, None)``. An error raised inside that names the path names the
    dataset instead, so the server's folders never reach the caller."""
    if dataset_id is None:
        yield source, None
        return
    path = str(DatasetFiles(settings.datasets_dir).data_path(dataset_id))
    try:
        yield "file", path
    except TradeforgeError as exc:
        if path not in str(exc):
            raise
        raise type(exc)(str(exc).replace(path, f"dataset {dataset_id}")) from None
