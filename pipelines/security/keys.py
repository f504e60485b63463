"""Generated dev keys: the JWT signing key and any other key kept in a file of the home."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pipelines.settings import Settings

__all__ = ["read_or_create_key", "resolve_secret_key"]


def resolve_secret_key(settings: Settings) -> str:
    """``settings.secret_key``, else the key in ``settings.secret_key_path`` (created 0600 if absent).

    The key is never logged.
    """
    return settings.secret_key or read_or_create_key(settings.secret_key_path, nbytes=64)


def read_or_create_key(path: Path, *, nbytes: int = 32) -> str:
    """The key stored in ``path``, created (0600, ``nbytes`` random bytes) if absent.

    The file is written to a private temp file and hard-linked into place, so concurrent workers
    starting together all end up with the one key that won the race.
    """
    existing = _read(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(nbytes) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic and never overwrites: the first process to get here wins
        except FileExistsError:
            if not _read(path):  # a blank file left by an interrupted start
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    key = _read(path)
    if not key:
        raise RuntimeError(f"could not create the key file {path}")
    return key


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
