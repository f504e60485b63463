"""Generated dev keys: the JWT signing key and any other key kept in the home's ``secrets/`` folder
(0700, files 0600). A key left at the home's top level by an older version is moved there."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pipelines.security.files import private_dir, restrict
from pipelines.settings import Settings

__all__ = ["read_or_create_key", "resolve_secret_key"]


def resolve_secret_key(settings: Settings) -> str:
    """``settings.secret_key``, else the key in ``settings.secret_key_path`` (created 0600 if absent).

    The key is never logged.
    """
    if settings.secret_key:
        return settings.secret_key
    return read_or_create_key(settings.secret_key_path, nbytes=64, legacy=settings.home / "secret_key")


def read_or_create_key(path: Path, *, nbytes: int = 32, legacy: Path | None = None) -> str:
    """The key stored in ``path``, created (0600, ``nbytes`` random bytes, in a 0700 folder) if
    absent; a key at ``legacy`` (where older versions kept it) is moved to ``path`` first.

    The file is written to a private temp file and hard-linked into place, so concurrent workers
    starting together all end up with the one key that won the race.
    """
    private_dir(path.parent)
    if legacy is not None:
        _migrate(legacy, path)
    existing = _read(path)
    if existing:
        restrict(path)
        return existing
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


def _migrate(legacy: Path, path: Path) -> None:
    """Move a key from ``legacy`` to ``path`` unless ``path`` already holds one (no overwrite)."""
    if not _read(legacy):
        return
    restrict(legacy)
    try:
        os.link(legacy, path)
    except FileExistsError:
        if _read(path):  # another worker moved it first, or a key is already in place
            legacy.unlink(missing_ok=True)
            return
        os.replace(legacy, path)
        return
    except FileNotFoundError:  # another worker moved it between the read and the link
        return
    legacy.unlink(missing_ok=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
