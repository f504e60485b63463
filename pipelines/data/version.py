"""The version of a piece of stored data: its last bar, its row count and a hash of its file bytes.

Training records the version of the feature table it read on its MLflow run, a prediction records
the version of the bars its features came from, and the Dagster assets report the same hash as
their data version, so a run, a prediction and a materialization can be matched to the very data.
The hash covers the bytes of the Parquet files in the order given, so the same content gives the
same version wherever it lies on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pipelines.data.storage import DataStorage

__all__ = [
    "DATA_LAST_BAR_TAG",
    "DATA_ROWS_TAG",
    "DATA_VERSION_TAG",
    "DataVersion",
    "bytes_hash",
    "combine_hashes",
    "content_hash",
]

DATA_VERSION_TAG = "tradeforge.data_version"
DATA_LAST_BAR_TAG = "tradeforge.data_last_bar"
DATA_ROWS_TAG = "tradeforge.data_rows"
_CHUNK = 1 << 20


def content_hash(paths: Iterable[Path | str], storage: DataStorage | None = None) -> str:
    """A BLAKE2b digest (32 hex characters) of the files' bytes, each prefixed by its length;
    ``storage`` reads paths of that storage (object storage), else they are files on disk."""
    digest = hashlib.blake2b(digest_size=16)
    for path in paths:
        if storage is not None:
            size = storage.filesystem.get_file_info(str(path)).size
            digest.update(int(size or 0).to_bytes(8, "little"))
            for chunk in storage.chunks(str(path), _CHUNK):
                digest.update(chunk)
            continue
        local = Path(path)
        digest.update(local.stat().st_size.to_bytes(8, "little"))
        with local.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def bytes_hash(blobs: Iterable[bytes]) -> str:
    """:func:`content_hash` of files already read into memory (the same digest for the same bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for blob in blobs:
        digest.update(len(blob).to_bytes(8, "little"))
        digest.update(blob)
    return digest.hexdigest()


def combine_hashes(parts: Mapping[str, str]) -> str:
    """One hash for several named parts (a partition's timeframes); a single part keeps its own."""
    if len(parts) == 1:
        return next(iter(parts.values()))
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(parts):
        digest.update(f"{name}={parts[name]};".encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class DataVersion:
    """What a reader of stored data saw: the last bar's timestamp, the rows and the files' hash."""

    last_bar: pd.Timestamp
    rows: int
    content_hash: str

    @classmethod
    def of_files(
        cls,
        paths: Iterable[Path | str],
        *,
        last_bar: pd.Timestamp,
        rows: int,
        storage: DataStorage | None = None,
    ) -> DataVersion:
        return cls(last_bar=last_bar, rows=rows, content_hash=content_hash(paths, storage))

    @property
    def last_bar_iso(self) -> str:
        return self.last_bar.isoformat()

    def tags(self) -> dict[str, str]:
        """The version as MLflow tags (``tradeforge.data_version`` is the hash)."""
        return {
            DATA_VERSION_TAG: self.content_hash,
            DATA_LAST_BAR_TAG: self.last_bar_iso,
            DATA_ROWS_TAG: str(self.rows),
        }

    def as_dict(self) -> dict[str, str | int]:
        return {"hash": self.content_hash, "last_bar": self.last_bar_iso, "rows": self.rows}
