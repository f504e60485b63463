"""Reading an uploaded dataset file into a table: CSV, JSON, Parquet, or a ZIP of them.

The format comes from the file's name (``file_format``). A ZIP holds one or more data files of
those formats (folders, ``__MACOSX/`` and hidden files are skipped); several files must have the
same columns and are stacked in name order (at most ``MAX_ZIP_MEMBERS``). Everything a file
unpacks to (ZIP members, gzip, Parquet pages) is bounded, so a small upload cannot fill the disk or
the memory. Every problem is an InvalidRequestError naming the file as uploaded.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import pandas as pd
import pyarrow.parquet as pq

from pipelines.data.providers.layouts import read_csv_sniffed
from pipelines.errors import InvalidRequestError

__all__ = ["FORMATS", "MAX_ZIP_MEMBERS", "data_members", "fail", "file_format", "file_suffix", "read_table"]

# suffix -> format; the longest matching suffix wins (".csv.gz" before ".gz" would matter).
_SUFFIXES = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".zip": "zip",
}
FORMATS = tuple(dict.fromkeys(_SUFFIXES.values()))
MAX_ZIP_MEMBERS = 1_000
_SCALARS = (str, int, float, bool, type(None))


def file_format(file_name: str) -> str:
    """The format of ``file_name`` from its suffix, or InvalidRequestError listing the accepted ones."""
    return _SUFFIXES[file_suffix(file_name)]


def file_suffix(file_name: str) -> str:
    """The accepted suffix ``file_name`` ends with (lower case, e.g. ``.csv.gz``)."""
    lower = file_name.strip().lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return suffix
    raise InvalidRequestError(
        f"file {file_name!r} has an unsupported type; upload one of: {', '.join(sorted(_SUFFIXES))}"
    )


def read_table(path: Path, fmt: str, *, origin: str, max_unzipped_bytes: int) -> pd.DataFrame:
    """The table in ``path`` (of format ``fmt``); ``origin`` names it in errors. Whatever the file
    decompresses to (ZIP members, gzip, Parquet pages) counts against ``max_unzipped_bytes``."""
    budget = _Budget(max_unzipped_bytes)
    if fmt == "zip":
        return _read_zip(path, origin, budget)
    return _read_one(path, fmt, origin, budget)


class _Budget:
    """Bytes a dataset may still unpack to; taking more than is left is the upload's error."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def take(self, size: int, origin: str) -> None:
        self.left -= size
        if self.left < 0:
            fail(origin, f"unpacks to more than the {self.limit / 1e6:.0f} MB a dataset may hold")


def fail(origin: str, problem: str) -> NoReturn:
    """The upload's error: ``problem`` with the file as the user named it."""
    raise InvalidRequestError(f"file {origin!r} {problem}")


def _read_one(path: Path, fmt: str, origin: str, budget: _Budget) -> pd.DataFrame:
    if path.name.lower().endswith(".gz"):
        plain = path.with_name(f".{path.name}.plain")
        try:
            try:
                with gzip.open(path, "rb") as src, plain.open("wb") as dst:
                    _copy_bounded(src, dst, budget, origin)
            except InvalidRequestError:
                raise
            except Exception as exc:  # gzip.BadGzipFile, EOFError, zlib.error
                fail(origin, f"is not readable gzip data: {type(exc).__name__}")
            return _read_one(plain, fmt, origin, budget)
        finally:
            plain.unlink(missing_ok=True)
    try:
        if fmt in ("csv", "tsv"):
            frame = (
                read_csv_sniffed(path, compression=None)
                if fmt == "csv"
                else pd.read_csv(path, sep="\t", compression=None)
            )
        elif fmt == "parquet":
            budget.take(_parquet_size(path), origin)
            frame = pd.read_parquet(path)
            if not isinstance(frame.index, pd.RangeIndex) and frame.index.name is not None:
                frame = frame.reset_index()
        elif fmt in ("json", "jsonl"):
            frame = _read_json(path, fmt, origin)
        else:
            fail(origin, f"has format {fmt!r}, which cannot be read here")
    except InvalidRequestError:
        raise
    except UnicodeDecodeError:
        fail(origin, "is not UTF-8 text")
    except pd.errors.EmptyDataError:
        fail(origin, "is empty")
    except Exception as exc:  # pandas, pyarrow and json raise many types for unreadable files
        # Their messages may name the stored file: the user knows it by its upload name only.
        reason = str(exc).replace(str(path), origin).replace(str(path.parent), "")
        fail(origin, f"cannot be read as {fmt.upper()}: {type(exc).__name__}: {reason}")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _parquet_size(path: Path) -> int:
    """What the Parquet file holds unpacked, from its footer: its pages' encoded size, or 8 bytes a
    value when that is more (run-length and dictionary encoding make repeated values tiny)."""
    meta = pq.ParquetFile(path).metadata
    encoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return int(max(encoded, meta.num_rows * meta.num_columns * 8))


def _read_json(path: Path, fmt: str, origin: str) -> pd.DataFrame:
    """An array of row objects, an object of equally long column arrays, or (``jsonl``) one row
    object per line. Values must be scalars: a nested value is named with its row and column."""
    with path.open("r", encoding="utf-8") as handle:
        if fmt == "jsonl":
            document: Any = [json.loads(line) for line in handle if line.strip()]
        else:
            document = json.load(handle)
    if isinstance(document, dict):
        if not all(isinstance(v, list) for v in document.values()):
            fail(origin, "must hold an array of row objects or an object of column arrays")
        lengths = {len(v) for v in document.values()}
        if len(lengths) > 1:
            fail(origin, f"has column arrays of different lengths: {sorted(lengths)}")
        _check_scalars(origin, ((i, k, x) for k, v in document.items() for i, x in enumerate(v)))
        return pd.DataFrame(document)
    if not isinstance(document, list):
        fail(origin, "must hold an array of row objects or an object of column arrays")
    rows: list[Any] = document
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            fail(origin, f"row {i + 1} is a {type(row).__name__}, not an object of column values")
    _check_scalars(origin, ((i, k, x) for i, row in enumerate(rows) for k, x in row.items()))
    return pd.DataFrame.from_records(rows)


def _check_scalars(origin: str, cells: Any) -> None:
    for i, column, value in cells:
        if not isinstance(value, _SCALARS):
            fail(
                origin,
                f"row {i + 1}, column {column!r} holds a nested {type(value).__name__}; "
                "values must be scalars",
            )


def _read_zip(path: Path, origin: str, budget: _Budget) -> pd.DataFrame:
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, NotImplementedError (version), UnicodeDecodeError (names)
        fail(origin, f"is not a readable ZIP archive: {type(exc).__name__}: {exc}")
    with archive:
        members = data_members(archive)
        if not members:
            fail(origin, "holds no data file")
        if len(members) > MAX_ZIP_MEMBERS:
            fail(origin, f"holds {len(members)} data files; at most {MAX_ZIP_MEMBERS} are allowed")
        total = sum(m.file_size for m in members)
        if total > budget.left:
            fail(origin, f"expands to {total / 1e6:.1f} MB; at most {budget.limit / 1e6:.0f} MB is allowed")
        frames: list[pd.DataFrame] = []
        work = path.parent / f".{path.name}.members"
        work.mkdir(exist_ok=True)
        try:
            for member in members:
                inner = f"{origin}:{member.filename}"
                fmt = file_format(PurePosixPath(member.filename).name)
                if fmt == "zip":
                    fail(inner, "is a ZIP inside the ZIP; put the data files in one archive")
                if member.flag_bits & 0x1:
                    fail(inner, "is encrypted")
                # The member's own suffix is kept (``.csv.gz`` is decompressed by its name).
                target = work / f"{len(frames)}-{PurePosixPath(member.filename).name}"
                try:
                    with archive.open(member) as src, target.open("wb") as dst:
                        _copy_bounded(src, dst, budget, inner)
                except InvalidRequestError:
                    raise
                except Exception as exc:  # BadZipFile (CRC), NotImplementedError (method), zlib.error
                    fail(inner, f"cannot be extracted: {type(exc).__name__}: {exc}")
                frames.append(_read_one(target, fmt, inner, budget))
                target.unlink()
        finally:
            for leftover in work.iterdir():
                leftover.unlink()
            work.rmdir()
    first = list(frames[0].columns)
    for member, frame in zip(members, frames, strict=True):
        if list(frame.columns) != first:
            fail(
                f"{origin}:{member.filename}",
                f"has columns {list(frame.columns)}, not those of the first file {first}",
            )
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def data_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's data files in name order: folders, ``__MACOSX/`` and hidden files left out."""
    return sorted((m for m in archive.infolist() if not _skipped(m)), key=lambda m: m.filename)


def _skipped(member: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(member.filename).parts
    return member.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith(".")


def _copy_bounded(src: Any, dst: Any, budget: _Budget, origin: str) -> None:
    """Copy ``src`` to ``dst`` a megabyte at a time, each counted against ``budget``."""
    while chunk := src.read(1 << 20):
        budget.take(len(chunk), origin)
        dst.write(chunk)
