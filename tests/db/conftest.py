"""The app-database fixtures of tests/db/support.py (SQLite and the local PostgreSQL)."""

from __future__ import annotations

from tests.db.support import database, fresh_pg_url, pg_database, pg_server

__all__ = ["database", "fresh_pg_url", "pg_database", "pg_server"]
