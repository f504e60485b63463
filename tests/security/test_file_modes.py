"""Secrets and databases the platform creates are readable by their owner only (0600; folders 0700)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from pipelines.app.demo_credentials import ensure_demo_credentials
from pipelines.data.warehouse import Warehouse
from pipelines.db import open_database
from pipelines.models.tracking import open_tracker
from pipelines.runtime import dagster_env
from pipelines.security import resolve_secret_key
from pipelines.security.files import private_file
from pipelines.security.secretbox import encryption_key_material
from pipelines.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    """The modes must not depend on the caller's umask: run under the most permissive one."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_app_database_and_its_wal_are_private(settings: Settings) -> None:
    database = open_database(settings)
    try:
        with database.transaction() as session:
            session.execute(text("SELECT 1"))
        db = settings.home / "app.db"
        assert mode(db) == 0o600
        companions = [db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal")]
        assert any(p.exists() for p in companions)
        assert all(mode(p) == 0o600 for p in companions if p.exists())
    finally:
        database.close()


def test_an_existing_world_readable_app_database_is_narrowed(settings: Settings) -> None:
    db = settings.home / "app.db"
    db.parent.mkdir(parents=True)
    db.touch(mode=0o644)
    db.chmod(0o644)
    open_database(settings).close()
    assert mode(db) == 0o600


def test_mlflow_store_is_private(settings: Settings) -> None:
    open_tracker(settings)
    assert mode(settings.home / "mlflow" / "mlflow.db") == 0o600


def test_warehouse_is_private(settings: Settings) -> None:
    Warehouse(settings).refresh()
    assert mode(settings.warehouse_path) == 0o600


def test_generated_keys_live_in_a_private_folder(settings: Settings) -> None:
    resolve_secret_key(settings)
    encryption_key_material(settings)
    assert settings.secret_key_path.parent == settings.encryption_key_path.parent == settings.secrets_dir
    assert mode(settings.secrets_dir) == 0o700
    assert mode(settings.secret_key_path) == mode(settings.encryption_key_path) == 0o600
    assert not (settings.home / "secret_key").exists() and not (settings.home / "encryption_key").exists()


def test_a_key_at_the_old_place_is_moved_not_replaced(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    legacy = settings.home / "secret_key"
    legacy.write_text("old-key-" + "x" * 60 + "\n")
    legacy.chmod(0o644)
    (settings.home / "encryption_key").write_text("old-enc\n")
    assert resolve_secret_key(settings) == "old-key-" + "x" * 60  # tokens signed before stay valid
    assert encryption_key_material(settings) == "old-enc"  # stored webhook secrets stay readable
    assert not legacy.exists() and not (settings.home / "encryption_key").exists()
    assert mode(settings.secret_key_path) == 0o600 and mode(settings.secrets_dir) == 0o700


def test_dagster_storage_folder_is_private(settings: Settings) -> None:
    dagster_env(settings)
    assert mode(settings.dagster_dir) == 0o700


def test_demo_credentials_are_private(settings: Settings) -> None:
    open_database(settings).close()
    ensure_demo_credentials(settings)
    assert mode(settings.home / "demo_credentials.json") == 0o600


def test_private_file_creates_0600_under_any_umask(tmp_path: Path) -> None:
    path = private_file(tmp_path / "sub" / "f")
    assert path.read_bytes() == b"" and mode(path) == 0o600
