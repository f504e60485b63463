"""The PostgreSQL fixtures of tests/db/support.py, for the use cases that run on both databases."""

from __future__ import annotations

from tests.db.support import fresh_pg_url, pg_server

__all__ = ["fresh_pg_url", "pg_server"]
