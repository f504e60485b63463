"""Atomic and durable file replacement, shared by every writer that replaces a file in place.

A new file is written to a hidden temp file beside its target, the temp file is fsynced, renamed over
the target and the folder is fsynced: a crash at any point leaves either the old file or the whole
new one, and once the call returns the new one survives a power loss too (a rename alone can reach
the disk before the file's data). Temp files are named ``.{name}.{hex}.tmp``, so the ones a killed
writer leaves behind are found by :func:`stale_temp_files`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_target", "fsync_path", "last_change", "replace_durably", "stale_temp_files", "temp_path"]

# ``.{name}.{hex}.tmp`` (hex: 16 or 32 digits), and the unpacked copy of a gzipped upload.
_TEMP_NAME = re.compile(r"^\..+\.(?:[0-9a-f]{16}|[0-9a-f]{32})\.tmp$|^\.upload.*\.plain$")


def temp_path(path: Path) -> Path:
    """A fresh hidden temp name beside ``path``."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def fsync_path(path: Path, *, directory: bool = False) -> None:
    """Flush ``path`` (a file, or a folder's entries) to disk. Folders cannot be opened on Windows."""
    if directory and sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(tmp: Path, path: Path) -> None:
    """Rename the finished ``tmp`` over ``path``: fsync the file, rename, fsync the folder."""
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent, directory=True)


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temp path to write ``path``'s new content to; a clean exit durably replaces ``path`` with it.
    The temp file never outlives the block."""
    tmp = temp_path(path)
    try:
        yield tmp
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def stale_temp_files(root: Path, min_age_seconds: float, *, now: float | None = None) -> Iterator[Path]:
    """Temp files under ``root`` untouched for ``min_age_seconds``: a live writer's file changes as
    it is written and is renamed within seconds, so one that old was left by a killed writer."""
    if not root.is_dir():
        return
    moment = time.time() if now is None else now
    for path in root.rglob(".*"):
        if not _TEMP_NAME.match(path.name):
            continue
        try:
            stat = path.lstat()
        except FileNotFoundError:  # its writer renamed it meanwhile
            continue
        if path.is_file() and moment - stat.st_mtime >= min_age_seconds:
            yield path


def last_change(folder: Path) -> float:
    """When ``folder`` or a file directly in it last changed (a file being streamed into a folder
    changes the file only): how old an abandoned folder is."""
    times = [folder.stat().st_mtime]
    for path in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            times.append(path.stat().st_mtime)
    return max(times)
