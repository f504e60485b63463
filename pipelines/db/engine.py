"""Engines, sessions and the migrated app database.

``open_database(settings)`` is the one way in: it creates the engine, brings the schema to the
newest migration and hands out sessions. SQLite runs in WAL mode (readers never block the writer)
with foreign keys on and a busy timeout; transactions are begun explicitly so that savepoints and
transactional DDL work (the pysqlite driver's own transaction handling breaks both).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from pipelines.db.json_text import json_text
from pipelines.security.files import private_file
from pipelines.settings import Settings

__all__ = ["Database", "create_db_engine", "migrate", "open_database", "session_factory"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any constant shared by every process migrating the same PostgreSQL database.
_PG_MIGRATION_LOCK = 0x7472_6466  # "trdf"


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between (WAL snapshot upgrade); write transactions take the
    # write lock up front instead (``Database.transaction``), waiting on the busy timeout.
    immediate = connection.get_execution_options().get("sqlite_begin") == "immediate"
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and cross-thread use."""
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", json_text)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    connect_args.update(kwargs.pop("connect_args", {}))
    path = _sqlite_file(parsed)
    if path is None:
        kwargs.setdefault("poolclass", StaticPool)  # one shared in-memory database
    else:  # it holds password and key hashes: 0600 from the start (SQLite gives -wal/-shm its mode)
        private_file(path)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(engine: Engine) -> None:
    """``alembic upgrade head`` on ``engine``, one migrating process at a time."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(_alembic_config(connection), "head")


def _upgrade_locked(engine: Engine) -> None:
    path = _sqlite_file(engine.url)
    if path is None:
        _upgrade(engine)
        return
    with FileLock(str(path.with_name(f".{path.name}.migrate.lock"))):
        _upgrade(engine)


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (``alembic upgrade head``)."""
    engine = create_db_engine(url)
    try:
        _prepare_sqlite_folder(engine.url)
        _upgrade_locked(engine)
    finally:
        engine.dispose()


def _prepare_sqlite_folder(url: URL) -> None:
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True, slots=True)
class Database:
    """The migrated app database: its engine and the session factory."""

    engine: Engine
    sessions: sessionmaker[Session]
    writer_sessions: sessionmaker[Session]

    def session(self) -> Session:
        """A new session; the caller commits (or use ``transaction()``)."""
        return self.sessions()

    def transaction(self) -> AbstractContextManager[Session]:
        """A session in a transaction that commits on success and rolls back on error."""
        return self.writer_sessions.begin()

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, **engine_kwargs: Any) -> Database:
    """Open (and migrate) the database at ``settings.resolved_database_url()``."""
    engine = create_db_engine(settings.resolved_database_url(), **engine_kwargs)
    try:
        _prepare_sqlite_folder(engine.url)
        _upgrade_locked(engine)
    except BaseException:
        engine.dispose()
        raise
    log.debug("app database ready (%s)", engine.url.render_as_string(hide_password=True))
    writer = engine.execution_options(sqlite_begin="immediate")
    return Database(engine=engine, sessions=session_factory(engine), writer_sessions=session_factory(writer))
