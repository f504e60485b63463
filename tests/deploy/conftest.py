"""The deployment-file tests' fixtures: the local PostgreSQL server (for the Dagster instance test)."""

from __future__ import annotations

from tests.db.support import pg_server

__all__ = ["pg_server"]
