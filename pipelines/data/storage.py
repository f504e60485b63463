"""Where the Parquet market and feature files live: the home's folders, or S3-compatible object storage.

The one place that turns the settings into a filesystem and a root: every reader and writer of the
market and feature files asks :func:`data_storage` for them, so the store, the feature tables, the
DuckDB views and the data versions all follow ``TRADEFORGE_DATA_URL`` alike.

Unset (the default), the files live under ``$TRADEFORGE_HOME`` and are replaced atomically through
a temp file and a rename. Set to ``s3://bucket/prefix``, they live in that bucket (AWS S3, MinIO, a
``moto`` server: ``TRADEFORGE_S3_ENDPOINT_URL``); an S3 object has no rename, but one PUT of a
whole object is atomic, so a file is serialised in memory first and uploaded in one request: a
reader sees the previous object or the whole new one, never a partly written key. Credentials come
from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an
instance role) and are never part of the settings.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipelines.atomic import atomic_target
from pipelines.settings import Settings

__all__ = [
    "DataStorage",
    "atomic_write_table",
    "data_storage",
    "local_storage",
    "s3_filesystem",
    "split_s3_url",
    "storage_health",
]


def atomic_write_table(table: pa.Table, path: Path, *, make_parent: bool = True, **kwargs: object) -> None:
    """Write ``table`` to ``path`` through a hidden temp file in the same folder, fsynced and renamed.
    ``make_parent=False``: a missing folder is FileNotFoundError (the caller's data was removed)."""
    if make_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


@dataclass(frozen=True)
class DataStorage:
    """A filesystem and the path in it of the data root; paths are ``/``-joined strings."""

    filesystem: pafs.FileSystem
    root: str  # a local folder, or ``bucket/prefix`` on S3
    remote: bool

    @property
    def market_root(self) -> str:
        return self.join(self.root, "market")

    @property
    def features_root(self) -> str:
        return self.join(self.root, "features")

    @staticmethod
    def join(*parts: str) -> str:
        return posixpath.join(*parts)

    def uri(self, path: str) -> str:
        """``path`` as a user reads it: ``s3://bucket/key`` on S3, the file's path on disk."""
        return f"s3://{path}" if self.remote else path

    def is_file(self, path: str) -> bool:
        return bool(self.filesystem.get_file_info(path).type == pafs.FileType.File)

    def children(self, path: str) -> list[str]:
        """Names of the entries directly under ``path``, sorted (none when it does not exist)."""
        selector = pafs.FileSelector(path, allow_not_found=True)
        return sorted(info.base_name for info in self.filesystem.get_file_info(selector))

    def files_under(self, path: str) -> list[str]:
        """Paths of every file below ``path``, at any depth (one listing request on S3)."""
        selector = pafs.FileSelector(path, allow_not_found=True, recursive=True)
        infos = self.filesystem.get_file_info(selector)
        return [info.path for info in infos if info.type == pafs.FileType.File]

    def read_bytes(self, path: str) -> bytes:
        with self.filesystem.open_input_stream(path) as stream:
            data: bytes = stream.readall()
        return data

    def chunks(self, path: str, size: int = 1 << 20) -> Iterable[bytes]:
        """The bytes of ``path`` in chunks, for hashing a large file without holding it."""
        with self.filesystem.open_input_stream(path) as stream:
            while chunk := stream.read(size):
                yield chunk

    def write_table(self, table: pa.Table, path: str, **kwargs: object) -> None:
        """Write ``table`` as Parquet to ``path`` so readers see the old file or the whole new one.

        On disk: a temp file beside it, fsynced and renamed. On S3: serialised in memory first
        (nothing is uploaded when serialising fails), then handed to the upload in one piece: a
        small object is one PUT, a large one a multipart upload that becomes visible only when
        every part has arrived, and an upload that fails on the way is not completed."""
        if not self.remote:
            atomic_write_table(table, Path(path), make_parent=True, **kwargs)
            return
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **kwargs)
        payload = sink.getvalue()
        with self.filesystem.open_output_stream(path) as out:
            out.write(payload)


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (``bucket``, ``prefix``); ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    return parts.netloc, parts.path.strip("/")


@lru_cache(maxsize=8)
def s3_filesystem(endpoint_url: str | None, region: str) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem for an endpoint (None: AWS itself); credentials from the AWS chain."""
    return _s3(endpoint_url, region)


def _s3(endpoint_url: str | None, region: str, **options: object) -> pafs.S3FileSystem:
    if endpoint_url is None:
        return pafs.S3FileSystem(region=region, **options)
    parts = urlsplit(endpoint_url)
    return pafs.S3FileSystem(
        region=region,
        endpoint_override=parts.netloc + parts.path.rstrip("/"),
        scheme=parts.scheme or "https",
        **options,
    )


def local_storage(folder: Path) -> DataStorage:
    """Files on this machine's disk under ``folder``."""
    return DataStorage(filesystem=pafs.LocalFileSystem(), root=str(folder), remote=False)


def data_storage(settings: Settings) -> DataStorage:
    """Where this deployment's market and feature files live (see the module's docstring)."""
    url = settings.storage.data_url
    if url is None:
        return local_storage(settings.home)
    bucket, prefix = split_s3_url(url)
    fs = s3_filesystem(settings.storage.s3_endpoint_url, settings.storage.s3_region)
    return DataStorage(filesystem=fs, root=posixpath.join(bucket, prefix) if prefix else bucket, remote=True)


def storage_health(settings: Settings) -> str:
    """The market and feature files' store as the health route reports it: "healthy", or
    "unhealthy: <reason>" naming no endpoint or credential. On S3, one request for the bucket with a
    short timeout and no retries, so an unreachable endpoint costs the probe about a second."""
    url = settings.storage.data_url
    if url is None:
        market = settings.market_dir
        return "healthy" if market.is_dir() or not market.exists() else "unhealthy: not a folder"
    bucket, _ = split_s3_url(url)
    fs = _probe_filesystem(settings.storage.s3_endpoint_url, settings.storage.s3_region)
    try:
        info = fs.get_file_info(bucket)
    except OSError as exc:
        return f"unhealthy: {type(exc).__name__}"
    return "unhealthy: bucket not found" if info.type == pafs.FileType.NotFound else "healthy"


@lru_cache(maxsize=8)
def _probe_filesystem(endpoint_url: str | None, region: str) -> pafs.S3FileSystem:
    """:func:`s3_filesystem` with the probe's short timeouts and a single attempt."""
    return _s3(
        endpoint_url,
        region,
        connect_timeout=1.0,
        request_timeout=2.0,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
    )
