"""Log rows written off the request path: requests append, one daemon thread inserts in batches."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from pipelines.db.engine import Database
from pipelines.db.logs import add_many
from pipelines.db.models import LogRow, PendingLog
from pipelines.db.types import utc_now

__all__ = ["BufferedLogWriter", "WriterStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriterStats:
    written: int
    dropped: int
    failed: int
    pending: int


@dataclass(frozen=True, slots=True)
class _Flush:
    done: threading.Event


class _Stop:
    pass


class BufferedLogWriter:
    """Batches log rows into the database every ``interval`` seconds or ``batch_size`` rows.

    ``submit`` never blocks and takes no lock: a row is appended to a deque (atomic in CPython),
    which the writer thread drains. When ``max_pending`` rows are waiting (the database is stuck or
    slow), new rows are dropped and counted rather than slowing requests down or growing memory
    without bound. A failed insert is logged (the exception type only: no row data) and its rows
    counted as failed; it never reaches the requests that produced them.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_pending: int = 10_000,
        batch_size: int = 500,
        interval: float = 0.25,
    ) -> None:
        if max_pending < 1 or batch_size < 1 or interval <= 0:
            raise ValueError("max_pending and batch_size must be >= 1 and interval > 0")
        self._database = database
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._interval = interval
        self._rows: deque[LogRow | PendingLog | _Flush | _Stop] = deque()
        self._wake = threading.Event()  # set when a batch is full, on flush and on close
        self._lock = threading.Lock()  # the counters only
        self._written = 0
        self._dropped = 0
        self._failed = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tradeforge-log-writer", daemon=True)
        self._thread.start()

    # -- callers -----------------------------------------------------------------------------------
    def submit(self, row: LogRow | PendingLog) -> bool:
        """Enqueue ``row`` (stamping ``created_at`` now if unset); False when it was dropped."""
        if isinstance(row, tuple):
            if row[1].get("created_at") is None:
                row[1]["created_at"] = utc_now()
        elif row.created_at is None:
            row.created_at = utc_now()
        rows = self._rows
        if not self._closed and len(rows) < self._max_pending:
            rows.append(row)
            if len(rows) == self._batch_size:
                self._wake.set()
            return True
        with self._lock:
            self._dropped += 1
            dropped = self._dropped
        if dropped == 1 or dropped % 1000 == 0:
            log.warning("log writer queue full or closed: %d log rows dropped so far", dropped)
        return False

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until every row submitted before this call is written (or failed); False on timeout."""
        if not self._thread.is_alive():
            return True
        done = threading.Event()
        self._rows.append(_Flush(done))
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread. Rows submitted afterwards are dropped."""
        if self._closed:
            return
        self._closed = True
        self._rows.append(_Stop())
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("log writer did not stop within %.0f s", timeout)

    @property
    def stats(self) -> WriterStats:
        with self._lock:
            return WriterStats(self._written, self._dropped, self._failed, len(self._rows))

    def __enter__(self) -> BufferedLogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the writer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()  # before the drain: what is appended after it is seen by this or the next
            if self._drain():
                return

    def _drain(self) -> bool:
        """Write every row queued now, in batches, answering flushes in order; True on stop."""
        batch: list[LogRow | PendingLog] = []
        while self._rows:
            item = self._rows.popleft()
            if isinstance(item, _Flush | _Stop):
                if batch:
                    self._write(batch)
                    batch = []
                if isinstance(item, _Stop):
                    return True
                item.done.set()
                continue
            batch.append(item)
            if len(batch) >= self._batch_size:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)
        return False

    def _write(self, batch: list[LogRow | PendingLog]) -> None:
        try:
            with self._database.transaction() as session:
                add_many(session, batch)
        except Exception as exc:
            with self._lock:
                self._failed += len(batch)
            log.warning("log writer could not write %d rows (%s)", len(batch), type(exc).__name__)
            return
        with self._lock:
            self._written += len(batch)
