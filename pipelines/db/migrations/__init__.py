"""Alembic migrations of the app database (run by ``pipelines.db.migrate``; no alembic.ini needed)."""
