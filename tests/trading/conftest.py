"""Trading fixtures: the migrated app database (SQLite, and PostgreSQL where it runs) and two users."""

from __future__ import annotations

import pytest

from pipelines.db import Database, User
from tests.db.support import database, fresh_pg_url, pg_database, pg_server

__all__ = ["database", "fresh_pg_url", "pg_database", "pg_server", "users"]


@pytest.fixture
def users(database: Database) -> dict[str, str]:
    with database.transaction() as s:
        rows = [User(username="ann", password_hash="x"), User(username="bob", password_hash="x")]
        s.add_all(rows)
        s.flush()
        return {row.username: row.id for row in rows}
