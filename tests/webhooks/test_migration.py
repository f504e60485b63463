"""Migration 0003 builds exactly the webhook models' tables, and its downgrade removes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.db import Webhook, WebhookDelivery
from tests.db.support import assert_migration_builds

TABLES = {Webhook.__tablename__, WebhookDelivery.__tablename__}


def test_sqlite_migration_matches_the_models(tmp_path: Path) -> None:
    assert_migration_builds(f"sqlite:///{tmp_path / 'app.db'}", TABLES, "0003", "0002")


@pytest.mark.postgres
def test_postgres_migration_matches_the_models(fresh_pg_url: str) -> None:
    assert_migration_builds(fresh_pg_url, TABLES, "0003", "0002")
