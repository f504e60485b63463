"""The demo's API account: created once per home, its password and API key kept in the home
(``demo_credentials.json``, mode 0600) so every ``make demo`` prints the same working credentials.
Dev convenience only: the file is in the git-ignored home, never in the repository."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from pipelines.app.accounts import register_user
from pipelines.atomic import replace_durably
from pipelines.db import create_api_key, get_user_by_username, open_database
from pipelines.settings import Settings

__all__ = ["DEMO_USERNAME", "ensure_demo_credentials"]

DEMO_USERNAME = "demo"


def _path(settings: Settings) -> Path:
    return settings.home / "demo_credentials.json"


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".demo-", suffix=".json")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
        replace_durably(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_demo_credentials(settings: Settings) -> dict[str, Any]:
    """The demo user's username, password and API key (an admin on the enterprise tier, so the demo
    sees everything and is never rate limited); made on the first call, read back afterwards."""
    path = _path(settings)
    database = open_database(settings)
    try:
        with database.transaction() as session:
            existing = get_user_by_username(session, DEMO_USERNAME)
            if existing is not None and path.is_file():
                saved: dict[str, Any] = json.loads(path.read_text())
                return saved
            if existing is not None:  # the file was removed: the password is unknown, start over
                session.delete(existing)
                session.flush()
            password = secrets.token_urlsafe(12)
            user = register_user(session, DEMO_USERNAME, password, role="admin", tier="enterprise")
            key = create_api_key(session, user.id, "demo")
            data = {"username": DEMO_USERNAME, "password": password, "api_key": key.key, "user_id": user.id}
        _write_private(path, data)
        return data
    finally:
        database.close()
