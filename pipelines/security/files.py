"""Files only their owner may read: secret keys, databases, credentials (0600; folders 0700).

Modes are set when a file is created (``os.open`` with 0600, before SQLite or DuckDB opens it)
rather than through a process-wide umask, which would change every other file the process writes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "private_dir", "private_file", "restrict"]

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """``path`` created if absent, a folder only its owner may enter (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    restrict(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty if absent, readable by its owner only (0600); an existing file of
    this user that others could read is narrowed to 0600 too."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE))
    restrict(path, PRIVATE_FILE_MODE)
    return path


def restrict(path: Path, mode: int = PRIVATE_FILE_MODE) -> None:
    """Narrow ``path`` to ``mode`` when it is wider and this user owns it (a file of another user,
    a read-only mount, or a missing file is left alone)."""
    with contextlib.suppress(OSError):
        st = path.stat()
        if st.st_mode & 0o777 & ~mode and st.st_uid == os.getuid():
            os.chmod(path, mode)
