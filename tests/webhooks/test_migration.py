"""Migration 0003 builds exactly the webhook models' tables, and its downgrade removes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from pipelines.db import Base, Webhook, WebhookDelivery
from pipelines.db.engine import _alembic_config, create_db_engine, migrate

TABLES = {Webhook.__tablename__, WebhookDelivery.__tablename__}


def _ours(obj: Any, name: str | None, kind: str, _reflected: bool, _compare_to: Any) -> bool:
    table = name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in TABLES


def webhook_diff(engine: Engine) -> list[Any]:
    """Differences between the database and the models that concern the webhook tables."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        return list(compare_metadata(context, Base.metadata))


def check(url: str) -> None:
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) >= "0003"
        assert set(inspect(engine).get_table_names()) >= TABLES
        assert webhook_diff(engine) == []
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0002")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert {d[1].name for d in webhook_diff(engine) if d[0] == "add_table"} == TABLES  # drift is seen
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        assert webhook_diff(engine) == []
    finally:
        engine.dispose()


def test_sqlite_migration_matches_the_models(tmp_path: Path) -> None:
    check(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.mark.postgres
def test_postgres_migration_matches_the_models(fresh_pg_url: str) -> None:
    check(fresh_pg_url)
