"""BufferedLogWriter: rows land after flush, a full queue drops and counts, failures stay out of requests."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from pipelines.db import BufferedLogWriter, Database, ErrorLog, PredictionLog, RequestLog, open_database
from pipelines.settings import Settings


@pytest.fixture
def sqlite_db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.close()


def request_row(i: int) -> RequestLog:
    return RequestLog(method="GET", route=f"/r/{i % 3}", status_code=200, duration_ms=float(i))


def count(database: Database, table: type[RequestLog] | type[PredictionLog] | type[ErrorLog]) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count(table.id))) or 0)


def test_rows_arrive_after_flush(database: Database) -> None:
    with BufferedLogWriter(database, batch_size=500, interval=5.0) as writer:
        for i in range(1200):
            assert writer.submit(request_row(i))
        writer.submit(PredictionLog(endpoint="/p", model_name="m", signal=0.5))
        writer.submit(ErrorLog(status_code=400, code="INVALID_REQUEST", message="bad"))
        started = time.monotonic()
        assert writer.flush()
        assert time.monotonic() - started < 4.0  # flush does not wait for the interval
        assert (count(database, RequestLog), count(database, PredictionLog), count(database, ErrorLog)) == (
            1200,
            1,
            1,
        )
        assert writer.stats.written == 1202 and writer.stats.dropped == 0 and writer.stats.pending == 0


def test_rows_are_written_without_flush_within_the_interval(sqlite_db: Database) -> None:
    with BufferedLogWriter(sqlite_db, interval=0.05) as writer:
        row = request_row(1)
        writer.submit(row)
        assert row.created_at is not None  # stamped when submitted, not when written
        deadline = time.monotonic() + 5
        while count(sqlite_db, RequestLog) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert count(sqlite_db, RequestLog) == 1


def test_full_queue_drops_and_counts(sqlite_db: Database, settings: Settings) -> None:
    # Another connection holds the write lock, so the writer thread blocks on its first batch.
    blocker = sqlite3.connect(settings.home / "app.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    writer = BufferedLogWriter(sqlite_db, max_pending=5, batch_size=1, interval=0.01)
    try:
        assert writer.submit(request_row(0))
        deadline = time.monotonic() + 5
        while writer.stats.pending and time.monotonic() < deadline:
            time.sleep(0.005)  # the thread has taken row 0 and now waits for the lock
        accepted = [writer.submit(request_row(i)) for i in range(1, 9)]
        assert accepted == [True] * 5 + [False] * 3
        assert writer.stats.dropped == 3 and writer.stats.pending == 5
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert writer.flush()
    assert count(sqlite_db, RequestLog) == 6
    writer.close()
    assert writer.submit(request_row(99)) is False  # closed: dropped, not queued
    assert writer.stats.dropped == 4 and count(sqlite_db, RequestLog) == 6


def test_failed_batch_is_logged_not_raised(sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    secret_message = "token=hunter2-should-not-be-logged"
    with BufferedLogWriter(sqlite_db) as writer, caplog.at_level(logging.WARNING, "pipelines.db.writer"):
        # NOT NULL violation: the route is missing.
        assert writer.submit(
            RequestLog(method="GET", status_code=200, duration_ms=1.0, request_id=secret_message)
        )
        assert writer.flush()
        assert writer.stats.failed == 1 and writer.stats.written == 0
        assert "could not write 1 rows (IntegrityError)" in caplog.text
        assert "hunter2" not in caplog.text
        writer.submit(request_row(1))  # the writer keeps going
        assert writer.flush()
    assert count(sqlite_db, RequestLog) == 1


def test_close_writes_what_is_queued(sqlite_db: Database) -> None:
    writer = BufferedLogWriter(sqlite_db, interval=10.0)
    for i in range(10):
        writer.submit(request_row(i))
    writer.close()
    writer.close()  # idempotent
    assert count(sqlite_db, RequestLog) == 10
    assert writer.flush()  # nothing left to wait for


def test_rejects_nonsense_settings(sqlite_db: Database) -> None:
    with pytest.raises(ValueError, match="max_pending"):
        BufferedLogWriter(sqlite_db, max_pending=0)


def test_plain_value_rows_are_inserted_in_bulk(database: Database) -> None:
    """The API submits (table, values) pairs: same rows, NaN stored as NULL, time stamped if unset."""
    with BufferedLogWriter(database, batch_size=100, interval=5.0) as writer:
        for i in range(250):
            assert writer.submit(
                (RequestLog, {"method": "POST", "route": "/p", "status_code": 200, "duration_ms": i})
            )
        writer.submit((PredictionLog, {"endpoint": "/p", "model_name": "m", "signal": float("nan")}))
        writer.submit(request_row(7))  # ORM rows and value rows mix in one batch
        assert writer.flush()
    assert count(database, RequestLog) == 251
    with database.session() as s:
        stored = s.scalars(select(PredictionLog)).one()
        assert (
            stored.signal is None and stored.created_at is not None and stored.created_at.tzinfo is not None
        )
        durations = sorted(s.scalars(select(RequestLog.duration_ms).where(RequestLog.route == "/p")).all())
        assert durations == [float(i) for i in range(250)]
