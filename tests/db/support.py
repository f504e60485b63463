"""App-database fixtures (tests/db, tests/monitoring): a migrated SQLite file per test, and PostgreSQL.

PostgreSQL tests run in a database created for this test session (``tradeforge_test_<random>``)
and dropped at its end; they skip, saying why, when the server on 127.0.0.1:5432 is not reachable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from pipelines.db.engine import Database, _alembic_config, create_db_engine, migrate, open_database
from pipelines.db.models import Base
from pipelines.settings import Settings

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Engine]:
    """An autocommit engine on the local server's ``test`` database, for creating scratch databases."""
    engine = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({type(exc.orig).__name__})")
    yield engine
    engine.dispose()


@contextmanager
def scratch_database(server: Engine) -> Iterator[str]:
    """A new, empty PostgreSQL database; its URL. Dropped (connections and all) on exit."""
    name = f"tradeforge_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_pg_url(pg_server: Engine) -> Iterator[str]:
    with scratch_database(pg_server) as url:
        yield url


@pytest.fixture(scope="session")
def pg_database(pg_server: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One migrated PostgreSQL database for the session; ``database`` empties it after each test."""
    with scratch_database(pg_server) as url:
        database = open_database(Settings(home=tmp_path_factory.mktemp("pg-home"), database_url=url))
        yield database
        database.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Database]:
    """The migrated app database, once on SQLite (a file in the test's home) and once on PostgreSQL."""
    if request.param == "sqlite":
        database = open_database(settings)
        yield database
        database.close()
        return
    database = request.getfixturevalue("pg_database")
    yield database
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _table_diff(engine: Engine, tables: set[str]) -> list[Any]:
    """Differences between the database and the models that concern ``tables``."""

    def ours(obj: Any, name: str | None, kind: str, _reflected: bool, _compare_to: Any) -> bool:
        table = name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in tables

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": ours})
        return list(compare_metadata(context, Base.metadata))


def assert_migration_builds(url: str, tables: set[str], revision: str, previous: str) -> None:
    """Migration ``revision`` builds exactly the models' ``tables``; its downgrade to ``previous``
    removes them (and the comparison then sees them missing), and upgrading again restores them."""
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) >= revision
        assert set(inspect(engine).get_table_names()) >= tables
        assert _table_diff(engine, tables) == []
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), previous)
        assert not tables & set(inspect(engine).get_table_names())
        assert {d[1].name for d in _table_diff(engine, tables) if d[0] == "add_table"} == tables
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        assert _table_diff(engine, tables) == []
    finally:
        engine.dispose()
