"""The demo's API account is made once per home and its saved credentials work."""

from __future__ import annotations

import stat

from pipelines.app.accounts import authenticate
from pipelines.app.demo_credentials import ensure_demo_credentials
from pipelines.db import authenticate_api_key, open_database
from pipelines.settings import Settings


def test_demo_credentials_are_stable_and_valid(settings: Settings) -> None:
    first = ensure_demo_credentials(settings)
    again = ensure_demo_credentials(settings)
    assert first == again and first["username"] == "demo"
    path = settings.home / "demo_credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = open_database(settings)
    try:
        with db.transaction() as session:
            user = authenticate(session, "demo", first["password"])
            assert user.role == "admin" and user.tier == "enterprise"
            assert authenticate_api_key(session, first["api_key"]).id == user.id
    finally:
        db.close()
    path.unlink()  # lost file: a new password is made and works
    fresh = ensure_demo_credentials(settings)
    assert fresh["password"] != first["password"]
