"""The stored bars the paper broker fills from: the series of the symbol's configured source at the
paper timeframe (the live feed appends to the same series), read once per change and kept."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.data.ingest import open_store
from pipelines.data.market import source_for
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidSymbolError
from pipelines.settings import Settings
from pipelines.trading.records import Bar

__all__ = ["StoredBars"]

_BOUNDS_SECONDS = 0.5  # how long a series' end is trusted before the store is asked again


@dataclass(frozen=True, slots=True)
class _Series:
    last: pd.Timestamp
    start: pd.Timestamp | None  # what was read: bars from here on (None: everything)
    ts: np.ndarray  # int64 ns
    ohlc: np.ndarray  # float64, shape (n, 4)


class StoredBars:
    """Bars of the paper timeframe from the market-data store, cached per series."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeframe = parse_timeframe(settings.paper.paper_timeframe).name
        self.store = open_store(settings)
        self._lock = threading.Lock()
        self._ends: dict[SeriesKey, tuple[float, pd.Timestamp | None]] = {}
        self._series: dict[SeriesKey, _Series] = {}
        self._latest: dict[SeriesKey, Bar] = {}

    def symbol(self, raw: str) -> Symbol:
        """``raw`` in canonical form, refused unless bars of it are stored for paper trading."""
        sym = parse_symbol(raw)
        if self._end(self._key(sym)) is None:
            raise InvalidSymbolError(
                f"unknown symbol {raw!r}: no {self.timeframe} bars of {sym.name} are stored to trade it on"
            )
        return sym

    def _key(self, sym: Symbol) -> SeriesKey:
        return SeriesKey(source_for(self.settings, sym), self.timeframe, sym.name)

    def _end(self, key: SeriesKey) -> pd.Timestamp | None:
        now = time.monotonic()
        with self._lock:
            cached = self._ends.get(key)
        if cached is not None and now - cached[0] < _BOUNDS_SECONDS:
            return cached[1]
        bounds = self.store.bounds(key)
        last = None if bounds is None else bounds.last
        with self._lock:
            self._ends[key] = (now, last)
        return last

    def forget(self, symbol: str) -> None:
        """Ask the store for ``symbol``'s end next time (a new bar was written)."""
        with self._lock:
            self._ends.pop(self._key(parse_symbol(symbol)), None)

    def last_time(self, symbol: str) -> dt.datetime | None:
        """Open time of the newest stored bar (None: none)."""
        end = self._end(self._key(parse_symbol(symbol)))
        return None if end is None else end.to_pydatetime()

    def _read(self, key: SeriesKey, start: pd.Timestamp) -> _Series | None:
        last = self._end(key)
        if last is None:
            return None
        with self._lock:
            cached = self._series.get(key)
        if cached is not None and cached.last == last and (cached.start is None or cached.start <= start):
            return cached
        frame = self.store.read(key, start)
        ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        ohlc = frame[["open", "high", "low", "close"]].to_numpy(dtype=np.float64)
        series = _Series(last, start, ts, ohlc)
        with self._lock:
            self._series[key] = series
        return series

    def after(self, symbol: str, since: dt.datetime) -> list[Bar]:
        """Stored bars that open after ``since``, oldest first."""
        key = self._key(parse_symbol(symbol))
        stamp = pd.Timestamp(since).tz_convert("UTC")
        series = self._read(key, stamp.floor("D"))
        if series is None:
            return []
        first = int(np.searchsorted(series.ts, stamp.value, side="right"))
        return [
            Bar(pd.Timestamp(int(t), tz="UTC").to_pydatetime(), *map(float, row))
            for t, row in zip(series.ts[first:], series.ohlc[first:], strict=True)
        ]

    def latest(self, symbol: str) -> Bar | None:
        """The newest stored bar."""
        key = self._key(parse_symbol(symbol))
        last = self._end(key)
        if last is None:
            return None
        with self._lock:
            known = self._latest.get(key)
        if known is not None and known.timestamp == last.to_pydatetime():
            return known
        series = self._read(key, last.floor("D"))
        if series is None or not series.ts.size:
            return None
        row = series.ohlc[-1]
        bar = Bar(pd.Timestamp(int(series.ts[-1]), tz="UTC").to_pydatetime(), *map(float, row))
        with self._lock:
            self._latest[key] = bar
        return bar
