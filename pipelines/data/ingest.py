"""Incremental, idempotent ingest of bars from a provider into the Parquet store.

Per symbol: fetch only what the store lacks (before its first or after its last bar), drop bars
that have not closed yet, then write once. A failed fetch writes nothing for that symbol and is
reported with its reason; other symbols go on. Input is validated before anything is fetched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipelines.data.calendar import nyse_holidays
from pipelines.data.providers import Provider, get_provider, normalize_source
from pipelines.data.providers.file import FileProvider
from pipelines.data.schema import to_canonical
from pipelines.data.store import ParquetStore, SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.timeutil import parse_time, utc_now
from pipelines.data.version import DataVersion
from pipelines.data.warehouse import Warehouse
from pipelines.errors import InvalidRequestError, TradeforgeError
from pipelines.settings import Settings

__all__ = [
    "IngestReport",
    "IngestRequest",
    "SymbolIngest",
    "ingest",
    "lacks_bars",
    "open_store",
    "plan_ingest",
    "stored_version",
]

ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IngestRequest:
    source: str
    timeframe: Timeframe
    symbols: tuple[Symbol, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    path: Path | None = None


@dataclass
class SymbolIngest:
    symbol: str
    rows_written: int = 0
    rows_total: int = 0
    path: str = ""
    first: str | None = None
    last: str | None = None
    fetched: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class IngestReport:
    source: str
    timeframe: str
    symbols: list[SymbolIngest]
    seconds: float

    @property
    def rows_written(self) -> int:
        return sum(s.rows_written for s in self.symbols)

    @property
    def failed(self) -> list[SymbolIngest]:
        return [s for s in self.symbols if not s.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "timeframe": self.timeframe,
            "rows_written": self.rows_written,
            "symbols": {
                s.symbol: {
                    "rows_written": s.rows_written,
                    "rows_total": s.rows_total,
                    "path": s.path,
                    "first": s.first,
                    "last": s.last,
                    "fetched": [list(r) for r in s.fetched],
                    "error": s.error,
                }
                for s in self.symbols
            },
            "failed": [s.symbol for s in self.failed],
            "seconds": round(self.seconds, 4),
        }


def open_store(settings: Settings) -> ParquetStore:
    return ParquetStore.open(settings)


def plan_ingest(
    settings: Settings,
    *,
    source: str,
    symbols: Sequence[str],
    timeframe: str,
    start: Any = None,
    end: Any = None,
    path: str | Path | None = None,
) -> IngestRequest:
    """Validate everything about a request before any fetch or write."""
    name = normalize_source(source)
    tf = parse_timeframe(timeframe)
    if not symbols:
        raise InvalidRequestError("at least one symbol is required")
    crypto = True if name == "ccxt" else False if name == "yfinance" else None
    parsed = tuple(parse_symbol(s, crypto=crypto) for s in symbols)
    if len({s.name for s in parsed}) != len(parsed):
        raise InvalidRequestError("a symbol is listed twice")
    file_path: Path | None = None
    if name == "file":
        if path is None:
            raise InvalidRequestError("source 'file' needs --path to a CSV or Parquet file")
        file_path = Path(path)
        if not file_path.is_file():
            raise InvalidRequestError(f"cannot read {file_path}: no such file")
        if len(parsed) != 1:
            raise InvalidRequestError("source 'file' ingests one symbol per file")
        FileProvider(file_path).check()  # an unreadable layout is bad input, found before any write
    elif path is not None:
        raise InvalidRequestError(f"--path is only for source 'file', not {name!r}")
    default_start = "1970-01-02" if name == "file" else settings.data.history_start
    start_ts = parse_time(start if start is not None else default_start, name="start")
    end_ts = parse_time(end, name="end") if end is not None else utc_now()
    if start_ts >= end_ts:
        raise InvalidRequestError(f"start {start_ts.date()} must be before end {end_ts.date()}")
    return IngestRequest(name, tf, parsed, start_ts, end_ts, file_path)


def _bar_ends(ts: pd.DatetimeIndex, timeframe: Timeframe) -> pd.DatetimeIndex:
    if timeframe.name == "1mo":
        return ts + pd.offsets.MonthBegin(1)
    return ts + pd.Timedelta(seconds=timeframe.seconds)


def _closed(bars: pd.DataFrame, timeframe: Timeframe, now: pd.Timestamp) -> pd.DataFrame:
    """Only bars that have closed by ``now`` (a bar still forming would be stored half-made)."""
    closed = np.asarray(_bar_ends(pd.DatetimeIndex(bars["timestamp"]), timeframe) <= now)
    return bars if closed.all() else bars.loc[closed]


def _missing_ranges(
    store: ParquetStore, key: SeriesKey, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """What the store lacks of [start, end): before its first bar and after its last bar's end."""
    bounds = store.bounds(key)
    if bounds is None:
        return [(start, end)]
    ranges = []
    if start < bounds.first:
        ranges.append((start, min(end, bounds.first)))
    last_end = _bar_ends(pd.DatetimeIndex([bounds.last]), timeframe)[0]
    if end > last_end:
        ranges.append((max(start, last_end), end))
    return ranges


def _holds_sessions(lo: pd.Timestamp, hi: pd.Timestamp) -> bool:
    """Whether [lo, hi) touches an NYSE session day (a day of ``lo``'s or a later one before ``hi``)."""
    first = np.datetime64(lo.tz_convert("UTC").date(), "D")
    last = np.datetime64(hi.tz_convert("UTC").ceil("D").date(), "D")
    return bool(np.busday_count(first, last, holidays=nyse_holidays()) > 0)


def lacks_bars(settings: Settings, request: IngestRequest) -> bool:
    """Whether the store lacks any part of ``request``'s window for one of its symbols: what
    :func:`ingest` would fetch, less the ranges of a stock that hold no NYSE session (a weekend or
    holiday at either end of the window has no bar to fetch). Reads only the stored bounds."""
    store = open_store(settings)
    for symbol in request.symbols:
        key = SeriesKey(request.source, request.timeframe.name, symbol.name)
        ranges = _missing_ranges(store, key, request.timeframe, request.start, request.end)
        if any(symbol.is_crypto or _holds_sessions(lo, hi) for lo, hi in ranges):
            return True
    return False


def ingest(
    settings: Settings,
    request: IngestRequest,
    *,
    provider: Provider | None = None,
    on_progress: ProgressCallback | None = None,
    now: pd.Timestamp | None = None,
) -> IngestReport:
    """Bring the store up to date for every symbol of ``request``; see the module docstring."""
    began = time.perf_counter()
    provider = provider or get_provider(request.source, settings, path=request.path)
    store = open_store(settings)
    now = now or utc_now()
    results = []
    for done, symbol in enumerate(request.symbols):
        key = SeriesKey(request.source, request.timeframe.name, symbol.name)
        result = SymbolIngest(symbol.name, path=store.storage.uri(store.series_dir(key)))
        try:
            with store.lock(key):
                ranges = _missing_ranges(store, key, request.timeframe, request.start, request.end)
                parts = []
                for lo, hi in ranges:
                    result.fetched.append((lo.isoformat(), hi.isoformat()))
                    fetched = provider.fetch(symbol, request.timeframe, lo, hi)
                    parts.append(fetched)
                bars = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
                if not bars.empty:
                    bars = to_canonical(
                        bars, symbol=symbol.name, timeframe=request.timeframe.name, source=request.source
                    )
                    bars = _closed(bars, request.timeframe, now)
                if not bars.empty:
                    result.rows_written = store.write(bars, locked=True).rows_written
            bounds = store.bounds(key)
            if bounds is not None:
                result.rows_total = bounds.rows
                result.first, result.last = bounds.first.isoformat(), bounds.last.isoformat()
        except TradeforgeError as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        results.append(result)
        if on_progress is not None:
            on_progress(symbol.name, done + 1, len(request.symbols))
    if any(r.rows_written for r in results):
        Warehouse(settings).refresh()
    return IngestReport(request.source, request.timeframe.name, results, time.perf_counter() - began)


def stored_version(settings: Settings, key: SeriesKey, *, years: range | None = None) -> DataVersion | None:
    """The data version of one series' stored bars: every year's file, or those of ``years``.
    None when nothing is stored there."""
    store = open_store(settings)
    files = [path for year, path in store.year_files(key) if years is None or year in years]
    if not files:
        return None
    fs = store.storage.filesystem
    rows = sum(pq.read_metadata(p, filesystem=fs).num_rows for p in files)
    stamps = pq.read_table(files[-1], columns=["timestamp"], filesystem=fs).column("timestamp")
    last = pd.Timestamp(stamps[len(stamps) - 1].as_py())
    return DataVersion.of_files(files, last_bar=last, rows=rows, storage=store.storage)
