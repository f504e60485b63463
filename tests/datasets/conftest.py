"""The app database fixtures (SQLite and PostgreSQL) for the catalogue and migration tests."""

from __future__ import annotations

from tests.db.support import database, fresh_pg_url, pg_database, pg_server

__all__ = ["database", "fresh_pg_url", "pg_database", "pg_server"]
