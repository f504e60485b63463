"""Log rows written off the request path: requests enqueue, one daemon thread inserts in batches."""

from __future__ import annotations

import logging
import queue
import threading
import time
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

    ``submit`` never blocks: when ``max_pending`` rows are waiting (the database is stuck or slow),
    new rows are dropped and counted rather than slowing requests down or growing memory without
    bound. A failed insert is logged (the exception type only: no row data) and its rows counted as
    failed; it never reaches the requests that produced them.
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
        self._batch_size = batch_size
        self._interval = interval
        self._queue: queue.Queue[LogRow | PendingLog | _Flush | _Stop] = queue.Queue(maxsize=max_pending)
        self._lock = threading.Lock()
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
        if not self._closed:
            try:
                self._queue.put_nowait(row)
                return True
            except queue.Full:
                pass
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
        try:
            self._queue.put(_Flush(done), timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread. Rows submitted afterwards are dropped."""
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(_Stop(), timeout=timeout)
        except queue.Full:
            log.warning("log writer did not stop within %.0f s", timeout)
            return
        self._thread.join(timeout)

    @property
    def stats(self) -> WriterStats:
        with self._lock:
            return WriterStats(self._written, self._dropped, self._failed, self._queue.qsize())

    def __enter__(self) -> BufferedLogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the writer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[LogRow | PendingLog] = []
            waiters: list[threading.Event] = []
            stop = False
            deadline = time.monotonic() + self._interval
            while True:
                if isinstance(item, _Flush):
                    waiters.append(item.done)
                    break
                if isinstance(item, _Stop):
                    stop = True
                    break
                batch.append(item)
                remaining = deadline - time.monotonic()
                if len(batch) >= self._batch_size or remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            for waiter in waiters:
                waiter.set()
            if stop:
                return

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
