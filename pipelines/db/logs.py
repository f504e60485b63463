"""The prediction, request and error logs: bulk inserts and the newest rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from pipelines.db.models import ErrorLog, LogRow, PendingLog, PredictionLog, RequestLog
from pipelines.errors import InvalidRequestError

__all__ = ["MAX_RECENT", "add_many", "recent", "recent_errors", "recent_predictions", "recent_requests"]

MAX_RECENT = 1000
_Row = TypeVar("_Row", PredictionLog, RequestLog, ErrorLog)


def add_many(session: Session, rows: Iterable[LogRow | PendingLog]) -> int:
    """Add log rows (ORM objects, or ``(table, values)`` pairs inserted in bulk through Core on the
    session's connection) and flush (the caller commits); returns how many."""
    objects: list[LogRow] = []
    values: dict[type[LogRow], list[dict[str, Any]]] = {}
    count = 0
    for row in rows:
        count += 1
        if isinstance(row, tuple):
            values.setdefault(row[0], []).append(row[1])
        else:
            objects.append(row)
    if objects:
        session.add_all(objects)
        session.flush()
    if values:
        connection = session.connection()  # Core: no ORM bulk-insert bookkeeping per row
        for table, batch in values.items():
            connection.execute(insert(cast(Table, table.__table__)), batch)
    return count


def recent(session: Session, table: type[_Row], limit: int, user_id: str | None) -> Sequence[_Row]:
    """The newest ``limit`` rows of ``table``; ``user_id`` None (an admin asking) means everyone's."""
    if not 1 <= limit <= MAX_RECENT:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_RECENT}, got {limit}")
    query = select(table).order_by(table.created_at.desc(), table.id.desc()).limit(limit)
    if user_id is not None:
        query = query.where(table.user_id == user_id)
    return session.scalars(query).all()


def recent_predictions(
    session: Session, limit: int = 100, user_id: str | None = None
) -> Sequence[PredictionLog]:
    return recent(session, PredictionLog, limit, user_id)


def recent_requests(session: Session, limit: int = 100, user_id: str | None = None) -> Sequence[RequestLog]:
    return recent(session, RequestLog, limit, user_id)


def recent_errors(session: Session, limit: int = 50, user_id: str | None = None) -> Sequence[ErrorLog]:
    return recent(session, ErrorLog, limit, user_id)
