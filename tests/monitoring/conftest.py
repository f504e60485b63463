"""Monitoring tests run on the app-database fixtures of tests/db/support.py (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.db.support import database, pg_database, pg_server

__all__ = ["database", "pg_database", "pg_server"]
