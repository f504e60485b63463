"""The DuckDB warehouse: views ``bars`` and ``features`` over the Parquet files, and resampling.

Views are defined over globs, so files written later are visible without redefining them; a view
is (re)created only when the first files appear or the home moves. Connections are short-lived:
DuckDB lets one process write a database file, so nobody holds it open between calls.

With the files on S3 (``TRADEFORGE_DATA_URL``), each query opens an in-memory DuckDB whose views
``bars`` and ``features`` scan a ``pyarrow.dataset`` over pyarrow's S3 filesystem (DuckDB pushes
filters and projections into the dataset scan), listed afresh per query so new objects are seen.
Not DuckDB's own ``httpfs`` extension: DuckDB installs extensions from the internet at run time
(no offline wheel matches this DuckDB), and pyarrow's filesystem is the one every writer already
uses, with the same endpoint and credentials chain. Nothing is stored in ``warehouse.duckdb`` then.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from filelock import FileLock

from pipelines.data.readonly_sql import read_statement
from pipelines.data.remote_views import remote_views
from pipelines.data.schema import with_labels
from pipelines.data.storage import data_storage
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.security.files import restrict
from pipelines.settings import Settings

__all__ = ["Warehouse"]

_EMPTY_BARS = (
    "SELECT CAST(NULL AS TIMESTAMPTZ) AS timestamp, CAST(NULL AS DOUBLE) AS open, "
    "CAST(NULL AS DOUBLE) AS high, CAST(NULL AS DOUBLE) AS low, CAST(NULL AS DOUBLE) AS close, "
    "CAST(NULL AS DOUBLE) AS volume, CAST(NULL AS VARCHAR) AS symbol, "
    "CAST(NULL AS VARCHAR) AS timeframe, CAST(NULL AS VARCHAR) AS source WHERE false"
)
_EMPTY_FEATURES = (
    "SELECT CAST(NULL AS TIMESTAMPTZ) AS timestamp, CAST(NULL AS VARCHAR) AS symbol, "
    "CAST(NULL AS VARCHAR) AS timeframe, CAST(NULL AS VARCHAR) AS source WHERE false"
)
# A stock's intraday bars start at the 09:30 New York open; resampled ones do too.
_SESSION_ORIGIN = "TIMESTAMP '2000-01-03 09:30:00'"
_INTERVALS = {
    "1m": "1 minute",
    "2m": "2 minutes",
    "5m": "5 minutes",
    "15m": "15 minutes",
    "30m": "30 minutes",
    "1h": "1 hour",
    "4h": "4 hours",
    "1d": "1 day",
    "1wk": "1 week",
    "1mo": "1 month",
}
# Warehouse file -> (its views, its (mtime, size) when they were read or written). ``refresh`` runs
# after every ingest, a live feed's every bar included; opening DuckDB to compare views costs ~10 ms.
_CONFIRMED: dict[Path, tuple[dict[str, str], tuple[int, int]]] = {}


class Warehouse:
    """DuckDB over the Parquet store of one Tradeforge home."""

    def __init__(self, settings: Settings) -> None:
        self.path: Path = settings.warehouse_path
        self._storage = data_storage(settings)
        self._views = {  # view -> (folder, glob of its files, definition while there are none)
            "bars": (settings.market_dir, "*/*/*/*/*.parquet", _EMPTY_BARS),
            "features": (settings.features_dir, "*/*/*/*.parquet", _EMPTY_FEATURES),
        }
        self._lock = settings.locks_dir / "warehouse.lock"

    def _view_sql(self, name: str) -> str:
        root, pattern, empty = self._views[name]
        if next(root.glob(pattern), None) is None:
            return empty
        glob = str(root.resolve() / pattern).replace("'", "''")
        return f"SELECT * FROM read_parquet('{glob}', hive_partitioning = false, union_by_name = true)"

    def refresh(self) -> None:
        """Create or update the views when the files they cover have changed shape (on S3 they are
        built per query: nothing to do)."""
        if self._storage.remote:
            return
        wanted = {name: self._view_sql(name) for name in ("bars", "features")}
        stamp = self._stamp()
        if stamp is not None and _CONFIRMED.get(self.path) == (wanted, stamp):
            return  # this process saw these very views in this very file
        if stamp is not None and self._current_views() == wanted:
            _CONFIRMED[self.path] = (wanted, stamp)
            return
        self._lock.parent.mkdir(parents=True, exist_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self._lock), timeout=120), self._connect(read_only=False) as con:
            restrict(self.path)
            con.execute("CREATE TABLE IF NOT EXISTS tradeforge_views (name VARCHAR PRIMARY KEY, sql VARCHAR)")
            for name, sql in wanted.items():
                con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
                con.execute("INSERT OR REPLACE INTO tradeforge_views VALUES (?, ?)", [name, sql])
        stamp = self._stamp()
        if stamp is not None:
            _CONFIRMED[self.path] = (wanted, stamp)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _current_views(self) -> dict[str, str]:
        try:
            with self._connect(read_only=True) as con:
                rows = con.execute("SELECT name, sql FROM tradeforge_views").fetchall()
        except duckdb.Error:
            return {}
        return {str(n): str(s) for n, s in rows}

    @contextmanager
    def _connect(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; retries while another process holds the write lock. On S3, an
        in-memory database holding the views over the objects."""
        if self._storage.remote:
            con = duckdb.connect(":memory:")
            try:
                con.execute("SET TimeZone = 'UTC'")
                remote_views(con, self._storage, {"bars": _EMPTY_BARS, "features": _EMPTY_FEATURES})
                yield con
            finally:
                con.close()
            return
        deadline = time.monotonic() + 30
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run read-only SQL against the warehouse (views ``bars`` and ``features``)."""
        self.refresh()
        with self._connect(read_only=True) as con:
            frame: pd.DataFrame = con.sql(sql, params=params or None).to_arrow_table().to_pandas()
            return frame

    def query_readonly(self, sql: str) -> pd.DataFrame:
        """Run one untrusted read statement (``InvalidRequestError`` for anything else).

        The connection is read-only and may open no file but the warehouse and the Parquet files
        of the market and feature folders (no COPY ... TO, ATTACH, INSTALL/LOAD, nor ``read_text``
        of a key anywhere else), and its configuration is locked before the statement runs.
        """
        statement = read_statement(sql)
        self.refresh()
        folders = [str(root.resolve()) + "/" for root, _, _ in self._views.values()]
        with self._connect(read_only=True) as con:
            con.execute("SET allowed_directories = ?", [folders])
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
            frame: pd.DataFrame = con.sql(statement).to_arrow_table().to_pandas()
            return frame

    def resample(
        self,
        *,
        source: str,
        symbol: str,
        from_timeframe: str | Timeframe,
        to_timeframe: str | Timeframe,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Bars of ``from_timeframe`` aggregated to ``to_timeframe`` (first open, max high, min low,
        last close, summed volume). Buckets are UTC-aligned, weeks start on Monday, months on the
        1st; a stock's intraday buckets start at the 09:30 New York open, as exchanges label them."""
        src, dst = parse_timeframe(from_timeframe), parse_timeframe(to_timeframe)
        if dst.seconds <= src.seconds:
            raise InvalidRequestError(f"cannot resample {src.name} to {dst.name}: the target must be longer")
        sym = parse_symbol(symbol)
        interval = _INTERVALS[dst.name]
        if dst.is_intraday and not sym.is_crypto:
            bucket = (
                f"timezone('America/New_York', time_bucket(INTERVAL '{interval}', "
                f"timezone('America/New_York', CAST(timestamp AS TIMESTAMPTZ)), {_SESSION_ORIGIN}))"
            )
        else:
            bucket = f"time_bucket(INTERVAL '{interval}', CAST(timestamp AS TIMESTAMPTZ))"
        where = ["symbol = ?", "timeframe = ?", "source = ?"]
        params: list[Any] = [sym.name, src.name, source]
        if start is not None:
            where.append("timestamp >= ?")
            params.append(start.to_pydatetime())
        if end is not None:
            where.append("timestamp < ?")
            params.append(end.to_pydatetime())
        sql = f"""
            SELECT {bucket} AS timestamp,
                   arg_min(open, timestamp) AS open, max(high) AS high, min(low) AS low,
                   arg_max(close, timestamp) AS close, sum(volume) AS volume
            FROM bars WHERE {" AND ".join(where)}
            GROUP BY 1 ORDER BY 1
        """
        frame = self.query(sql, params)
        if frame.empty:
            raise DataNotFoundError(f"no stored {src.name} bars of {sym.name} from source {source!r}")
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[ns, UTC]")
        return with_labels(frame, symbol=sym.name, timeframe=dst.name, source=source)
