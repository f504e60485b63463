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
    assert head_revision(url) == "0024"
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


def _migrate_users_from_0004(url: str, users: list[tuple[str, str, str]]) -> list[Any]:
    """Users (id, username, created_at) written under revision 0004, then the database upgraded."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0004")
            for user_id, username, created in users:
                conn.execute(
                    text(
                        "INSERT INTO users (id, username, password_hash, role, tier, is_active, created_at)"
                        " VALUES (:id, :name, 'x', 'user', 'free', true, :created)"
                    ),
                    {"id": user_id, "name": username, "created": created},
                )
            conn.execute(
                text(
                    "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at)"
                    " VALUES ('k1', 'u1', 'k', 'tf_x', :h, '2025-01-01')"
                ),
                {"h": "a" * 64},
            )
        migrate(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, username_key, token_version FROM users ORDER BY created_at")
            ).all()
            assert conn.scalar(text("SELECT count(*) FROM api_keys")) == 1  # no cascade on upgrade
            return list(rows)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_existing_users_migrate_with_case_insensitive_keys(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'app.db'}" if backend == "sqlite" else request.getfixturevalue("fresh_pg_url")
    )
    users = [("u1", "Ann", "2025-01-01"), ("u2", "ANN", "2025-02-01"), ("u3", "bob", "2025-03-01")]
    rows = _migrate_users_from_0004(url, users)
    assert [tuple(r) for r in rows] == [("u1", "ann", 0), ("u2", "ann:u2", 0), ("u3", "bob", 0)]
    engine = create_db_engine(url)
    try:
        with pytest.raises(IntegrityError), engine.begin() as conn:  # the database enforces it
            conn.execute(
                text(
                    "INSERT INTO users (id, username, username_key, password_hash, role, tier, is_active,"
                    " created_at) VALUES ('u4', 'BOB', 'bob', 'x', 'user', 'free', true, '2025-04-01')"
                )
            )
    finally:
        engine.dispose()


def test_open_paper_shorts_move_their_proceeds_out_of_the_balance_as_margin(tmp_path: Any) -> None:
    """A balance written under 0016 (an open short's sale booked as cash) loses that notional at
    the upgrade, and gets it back at the downgrade; longs and closed shorts are left alone. At
    0019 the peak is raised to the equity."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'app.db'}")
    trade = (
        "INSERT INTO trades (id, user_id, symbol, side, broker, status, quantity, entry_price, dca_enabled,"
        " max_dca_attempts, realized_pnl, commission, created_at) VALUES ('{}', 'u1', 'BTC/USDT', '{}',"
        " 'paper', '{}', 2, 100, false, 0, 0, 0, '2025-01-01')"
    )
    balance = "SELECT balance, peak FROM paper_balances WHERE user_id = 'u1'"
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0016")
            conn.execute(
                text(
                    "INSERT INTO users (id, username, username_key, password_hash, role, tier, is_active,"
                    " created_at) VALUES ('u1', 'ann', 'ann', 'x', 'user', 'free', true, '2025-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO paper_balances (user_id, asset, balance, peak, updated_at)"
                    " VALUES ('u1', 'USDT', 10199.8, 10200, '2025-01-01')"
                )
            )
            for n, (side, status) in enumerate(
                [("short", "active"), ("long", "active"), ("short", "closed")]
            ):
                conn.execute(text(trade.format(f"t{n}", side, status)))
            command.upgrade(_alembic_config(conn), "0018")
            assert [tuple(map(float, r)) for r in conn.execute(text(balance))] == [(9999.8, 10000.0)]
            command.downgrade(_alembic_config(conn), "0016")
            assert [tuple(map(float, r)) for r in conn.execute(text(balance))] == [(10199.8, 10200.0)]
            # 0019: the peak becomes the equity's when higher (the cash plus the long's 200; the
            # short's pnl at its entry price is 0)
            command.upgrade(_alembic_config(conn), "head")
            assert [tuple(map(float, r)) for r in conn.execute(text(balance))] == [(9999.8, 10199.8)]
    finally:
        engine.dispose()


_TRADE_0019 = (
    "INSERT INTO trades (id, user_id, symbol, side, broker, status, quantity, entry_price, last_price,"
    " dca_enabled, max_dca_attempts, realized_pnl, commission, created_at) VALUES"
    " (:id, 'u1', 'BTC/USDT', :side, 'paper', :status, :q, :entry, :last, false, 0, 0, 0, '2025-01-01')"
)
_ORDER_0019 = (
    "INSERT INTO orders (id, user_id, client_order_id, broker, symbol, side, type, purpose, quantity,"
    " price, status, filled_quantity, commission, trade_id, created_at) VALUES (:id, 'u1', :id,"
    " 'paper', 'BTC/USDT', :side, 'market', :purpose, :q, :price, :status, 0, 0, :trade, '2025-01-01')"
)


def _paper_ledger_0019(conn: Any) -> None:
    """User u1's USDT balance, a pending long, an active long and an active short (3 at 120), and
    orders: an open limit buy of 2 at 50, an open market DCA order of 0.5 on the long (last price
    110), an open exit and a filled buy."""
    conn.execute(
        text(
            "INSERT INTO users (id, username, username_key, password_hash, role, tier, is_active,"
            " created_at) VALUES ('u1', 'ann', 'ann', 'x', 'user', 'free', true, '2025-01-01')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO paper_balances (user_id, asset, balance, peak, updated_at)"
            " VALUES ('u1', 'USDT', 10000, 10000, '2025-01-01')"
        )
    )
    names = ("id", "side", "status", "q", "entry", "last")
    for values in (
        ("pending", "long", "pending", "2", None, "100.5"),
        ("long", "long", "active", "1", "90", "110"),
        ("short", "short", "active", "3", "120", "118"),
    ):
        conn.execute(text(_TRADE_0019), dict(zip(names, values, strict=True)))
    names = ("id", "side", "purpose", "q", "price", "status", "trade")
    for values in (
        ("limit", "buy", "entry", "2", "50", "open", "pending"),
        ("dca", "buy", "dca", "0.5", None, "open", "long"),
        ("exit", "buy", "exit", "1", None, "open", "short"),
        ("filled", "buy", "entry", "1", None, "filled", "long"),
    ):
        conn.execute(text(_ORDER_0019), dict(zip(names, values, strict=True)))


def test_open_paper_orders_and_shorts_get_their_holds_stored(tmp_path: Any) -> None:
    """The upgrade stores each open entry or addition's notional as its reserve (a limit at its price,
    a market order at its trade's last price; an exit or a filled order: nothing), their sums by
    side and the active short's margin on the balance row; the downgrade drops the columns."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0019")
            _paper_ledger_0019(conn)
            command.upgrade(_alembic_config(conn), "head")
            reserves = {k: float(v) for k, v in conn.execute(text("SELECT id, reserve FROM orders"))}
            assert reserves == {"limit": 100.0, "dca": 55.0, "exit": 0.0, "filled": 0.0}
            held = conn.execute(text("SELECT held_buys, held_sells, margin FROM paper_balances")).one()
            assert tuple(map(float, held)) == (155.0, 0.0, 360.0)
            command.downgrade(_alembic_config(conn), "0019")
            assert "reserve" not in {c["name"] for c in inspect(conn).get_columns("orders")}
    finally:
        engine.dispose()
