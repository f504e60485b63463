"""Migration 0004 builds exactly the dataset model's table (one name per user), and its downgrade
removes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from pipelines.db import Dataset
from pipelines.db.engine import create_db_engine
from tests.db.support import assert_migration_builds

TABLES = {Dataset.__tablename__}


def check(url: str) -> None:
    assert_migration_builds(url, TABLES, "0004", "0003")
    engine = create_db_engine(url)
    try:
        uniques = inspect(engine).get_unique_constraints(Dataset.__tablename__)
        assert [u["column_names"] for u in uniques] == [["user_id", "name"]]
    finally:
        engine.dispose()


def test_sqlite_migration_matches_the_model(tmp_path: Path) -> None:
    check(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.mark.postgres
def test_postgres_migration_matches_the_model(fresh_pg_url: str) -> None:
    check(fresh_pg_url)
