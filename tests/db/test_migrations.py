"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, and open_database's engine."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, delete, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from pipelines.db.engine import _alembic_config, create_db_engine, migrate, open_database
from pipelines.db.models import ApiKey, Base, PredictionLog, User
from pipelines.settings import Settings


def schema_diff(url: str, metadata: MetaData = Base.metadata) -> list[Any]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def head_revision(url: str) -> str:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.scalar(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def assert_no_drift(url: str) -> None:
    migrate(url)
    migrate(url)  # idempotent
    assert head_revision(url) == "0006"
    assert schema_diff(url) == []
    # The comparison does see drift: a column the migrations never created shows up.
    drifted = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["users"].append_column(Column("nickname", String(20)))
    assert [d[0] for d in schema_diff(url, drifted)] == ["add_column"]


def test_sqlite_schema_matches_models(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'app.db'}"
    assert_no_drift(url)


@pytest.mark.postgres
def test_postgres_schema_matches_models(fresh_pg_url: str) -> None:
    assert_no_drift(fresh_pg_url)
    engine = create_db_engine(fresh_pg_url)
    try:
        assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_downgrade_removes_every_table(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    engine = create_db_engine(url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()


def test_open_database_creates_the_home_and_tunes_sqlite(settings: Settings) -> None:
    assert not settings.home.exists()
    database = open_database(settings)
    try:
        assert (settings.home / "app.db").is_file()
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        database.close()


def test_foreign_keys_cascade_and_checks_hold(database: Any) -> None:
    with database.transaction() as s:
        user = User(username="ann", password_hash="x")
        s.add(user)
        s.flush()
        s.add(ApiKey(user_id=user.id, name="k", prefix="tf_x", key_hash="a" * 64))
    with database.transaction() as s:
        s.execute(delete(User).where(User.username == "ann"))
    with database.session() as s:
        assert s.scalars(select(ApiKey)).all() == []
    with pytest.raises(IntegrityError), database.transaction() as s:
        s.add(User(username="eve", password_hash="x", role="root"))


def test_times_come_back_aware_utc_and_nan_as_null(database: Any) -> None:
    cest = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2025, 6, 30, 14, 30, 15, 123456, tzinfo=cest)
    with database.transaction() as s:
        s.add(User(username="ann", password_hash="x", created_at=moment))
        s.add(
            PredictionLog(
                endpoint="/p", model_name="m", signal=math.nan, confidence=math.inf, created_at=moment
            )
        )
    with database.session() as s:
        created = s.scalars(select(User.created_at)).one()
        assert created == moment and created.tzinfo == dt.UTC and created.hour == 12
        row = s.scalars(select(PredictionLog)).one()
        assert row.signal is None and row.confidence is None
    with pytest.raises(StatementError, match="naive datetime"), database.transaction() as s:
        s.add(User(username="bob", password_hash="x", created_at=dt.datetime(2025, 1, 1)))
