"""How busy the app database is: its state, open connections and the most it accepts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from pipelines.db.engine import Database

__all__ = ["connection_stats"]


def connection_stats(database: Database) -> dict[str, Any]:
    """``status``, ``connections`` and ``max_connections``: on PostgreSQL the server's own figures
    (sessions on this database, ``max_connections``); elsewhere this process's pool (checked-out
    connections, pool size plus overflow; None when the pool has no bound)."""
    engine = database.engine
    pool = engine.pool
    connections: int | None = pool.checkedout() if isinstance(pool, QueuePool) else None
    most: int | None = pool.size() + max(pool._max_overflow, 0) if isinstance(pool, QueuePool) else None
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                connections = int(
                    conn.scalar(
                        text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                    )
                    or 0
                )
                most = int(conn.scalar(text("SHOW max_connections")) or 0)
            else:
                conn.execute(text("SELECT 1"))
    except Exception as exc:
        state = f"unhealthy: {type(exc).__name__}"
    else:
        state = "healthy"
    return {"status": state, "connections": connections, "max_connections": most}
