"""The latest feature rows of each series, cached for serving.

An entry is keyed by (source, symbol, timeframe, feature set) and holds the latest bar's timestamp and
close and the last few feature rows as a read-only float64 matrix in the feature set's column order
(at least as many rows as the longest model context asked of it). Features are computed with the
training code (``compute_features``) over the stored bars from ``settings.data.history_start``, the bars a
training run reads by default, so a served row equals the training row of the same bar.

Validity: an entry checked less than ``ttl`` seconds ago is returned as it is, without any I/O. An
older one costs one metadata read of the store (``ParquetStore.bounds``) and is recomputed only when
the latest stored bar has changed. ``invalidate`` drops entries at once.

Live series: ``extend`` (the live feed's hook) hands over the bars just stored. The cache then keeps
that series' bars in memory and appends new ones, so the recompute of a new bar reads no Parquet:
a metadata read proves the held bars end where the store ends (within ``ttl`` of the append not even
that: the feed stored those very bars). The features of a live series come from a
``FeatureStream``: the whole history once, then only the new bars, resumed from the indicator
kernels' states, bit-for-bit the rows the whole history gives, in time that does not grow with it.
Bars are held for live series only: a 1-minute history held for every series a request touched
would not fit.

Each entry carries a :class:`DataVersion`: the latest bar, the bars the features were computed from,
and a hash of the latest bar's feature row, made once per recompute. A prediction records it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from pipelines.data.limits import feature_history_start
from pipelines.data.market import ensure_stored, iso_utc, source_for
from pipelines.data.store import ParquetStore, SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.version import DataVersion, bytes_hash
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.features.compute import feature_block, resolve_feature_set
from pipelines.features.indicators import FeatureSet
from pipelines.features.inputs import BarData
from pipelines.features.stream import FeatureStream
from pipelines.models.base import FloatMatrix
from pipelines.settings import Settings

__all__ = ["FeatureCache", "FeatureRows", "FeatureTable"]

CacheKey = tuple[str, str, str, str]  # source, symbol, timeframe, feature set name


@dataclass(frozen=True, slots=True)
class FeatureRows:
    """The tail of one series' feature table (see the module docstring)."""

    source: str
    last_ns: int
    timestamp: str
    latest_date: str
    last_close: float
    matrix: FloatMatrix  # (rows, features), read-only; the last row is the latest bar
    data_points: int  # bars the features were computed from
    checked: float  # when the entry was last found valid (the cache's clock)
    version: DataVersion  # the latest bar, data_points, and the hash of the latest feature row

    def covers(self, rows: int) -> bool:
        held = int(self.matrix.shape[0])
        return held >= rows or held == self.data_points


@dataclass(frozen=True, slots=True)
class FeatureTable:
    """Every row of one series' features (for signal histories)."""

    source: str
    timestamps: np.ndarray  # epoch ns
    close: FloatMatrix
    matrix: FloatMatrix  # (bars, features) in the feature set's column order


class FeatureCache:
    def __init__(
        self,
        settings: Settings,
        store: ParquetStore,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.store = store
        self.ttl = settings.data.feature_cache_ttl_seconds if ttl is None else float(ttl)
        self._clock = clock
        self._entries: dict[CacheKey, FeatureRows] = {}
        self._wanted: dict[CacheKey, int] = {}
        self._key_locks: dict[CacheKey, threading.Lock] = {}
        self._lock = threading.Lock()
        self._live: set[SeriesKey] = set()  # series whose bars are held (see ``extend``)
        self._held: dict[SeriesKey, tuple[BarData, float]] = {}  # bars, when they matched the store
        # Per live series and feature set; valid while the held bars only grow (see ``_bars``).
        self._streams: dict[tuple[SeriesKey, str], FeatureStream] = {}

    def rows(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        feature_set: str | FeatureSet,
        need: int = 1,
        source: str | None = None,
    ) -> FeatureRows:
        """The cached tail with at least ``need`` rows (fewer only when fewer bars are stored).

        ``feature_set``: a registered name or a set (a subset, ``FeatureSet.subset``, is cached
        under its own name); ``source``: default the one configured for the symbol."""
        fs = resolve_feature_set(feature_set)
        source = source or source_for(self.settings, symbol)
        key = (source, symbol.name, timeframe.name, fs.name)
        entry = self._entries.get(key)  # a dict read is atomic: the hot path takes no lock
        if entry is not None and self._clock() - entry.checked < self.ttl and entry.covers(need):
            return entry
        with self._key_lock(key):
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None and now - entry.checked < self.ttl and entry.covers(need):
                return entry
            want = max(need, self._wanted.get(key, 1))
            self._wanted[key] = want
            series = SeriesKey(source, timeframe.name, symbol.name)
            held = self._held.get(series)
            if held is not None and now - held[1] < self.ttl:  # the feed stored them just now
                last_ns = int(held[0].ts_ns[-1])
            else:
                bounds = self.store.bounds(series)
                if bounds is None:
                    bounds = ensure_stored(self.settings, symbol, timeframe, store=self.store, source=source)
                last_ns = bounds.last.value
            if entry is not None and entry.last_ns == last_ns and entry.covers(want):
                entry = replace(entry, checked=now)
            else:
                entry = self._compute(series, fs, want, now, last_ns)
            self._entries[key] = entry
            return entry

    def fresh(
        self, symbol: Symbol, timeframe: Timeframe, feature_set: str | FeatureSet, need: int = 1
    ) -> bool:
        """Whether ``rows`` would answer from memory right now (no I/O, no feature work)."""
        name = feature_set if isinstance(feature_set, str) else feature_set.name
        key = (source_for(self.settings, symbol), symbol.name, timeframe.name, name)
        entry = self._entries.get(key)
        return entry is not None and self._clock() - entry.checked < self.ttl and entry.covers(need)

    def table(self, symbol: Symbol, timeframe: Timeframe, feature_set: str | FeatureSet) -> FeatureTable:
        """Every feature row of the series, computed afresh (not cached)."""
        source = source_for(self.settings, symbol)
        series = SeriesKey(source, timeframe.name, symbol.name)
        bounds = self.store.bounds(series)
        if bounds is None:
            bounds = ensure_stored(self.settings, symbol, timeframe, store=self.store)
        ts, close, matrix = self._features(series, resolve_feature_set(feature_set), bounds.last.value)
        return FeatureTable(source, ts, close, matrix)

    def invalidate(self, symbol: str, timeframe: str | None = None) -> int:
        """Drop the entries of ``symbol`` (at ``timeframe``, or all); returns how many were dropped."""
        name = parse_symbol(symbol).name
        tf = parse_timeframe(timeframe).name if timeframe is not None else None
        keys = [k for k in list(self._entries) if k[1] == name and (tf is None or k[2] == tf)]
        return sum(self._entries.pop(k, None) is not None for k in keys)

    def extend(self, symbol: str, timeframe: str, bars: pd.DataFrame, source: str | None = None) -> int:
        """New ``bars`` of ``symbol`` (from ``source``) were just stored: hold them, drop stale rows.

        From now on the series' bars are kept in memory (see the module docstring); bars that do not
        follow the held ones (a gap cannot be seen here, an overlap can) drop the held copy, which the
        next computation reads afresh. Returns how many feature entries were dropped.
        """
        sym, tf = parse_symbol(symbol), parse_timeframe(timeframe)
        series = SeriesKey(source or source_for(self.settings, sym), tf.name, sym.name)
        more = BarData.from_frame(bars)
        with self._lock:
            self._live.add(series)
            entry = self._held.pop(series, None)
            if entry is not None and len(more):
                with contextlib.suppress(InvalidRequestError):  # an overlap: read afresh next time
                    self._held[series] = (entry[0].append(more), self._clock())
        return self.invalidate(sym.name, tf.name)

    def forget(self, feature_set: str) -> None:
        """Drop the rows and live streams of ``feature_set`` (a name no longer asked for)."""
        for key in [k for k in list(self._entries) if k[3] == feature_set]:
            self._entries.pop(key, None)
        with self._lock:
            for stream in [k for k in self._streams if k[1] == feature_set]:
                del self._streams[stream]

    @property
    def streamed(self) -> int:
        """New-bar feature rows computed from kernel states rather than the whole history."""
        return sum(stream.replays for stream in list(self._streams.values()))

    def clear(self) -> None:
        self._entries.clear()
        with self._lock:
            self._held.clear()
            self._streams.clear()

    def _key_lock(self, key: CacheKey) -> threading.Lock:
        with self._lock:
            lock = self._key_locks.get(key)
            if lock is None:
                lock = self._key_locks[key] = threading.Lock()
            return lock

    def _bars(self, series: SeriesKey, last_ns: int) -> BarData:
        """The series's bars from ``history_start`` up to the stored bar ``last_ns``, at most
        ``max_bars_per_request`` of them (the latest)."""
        with self._lock:
            entry = self._held.get(series)
        if entry is not None and len(entry[0]) and int(entry[0].ts_ns[-1]) == last_ns:
            return entry[0].fresh()
        last = pd.Timestamp(last_ns, tz="UTC")
        crypto = parse_symbol(series.symbol).is_crypto
        start = feature_history_start(self.settings, series.timeframe, last, crypto=crypto)
        frame = self.store.read(series, start)
        if frame.empty:
            raise DataNotFoundError(
                f"no stored {series.timeframe} bars of {series.symbol} from source {series.source!r} "
                f"since {start.date().isoformat()}"
            )
        data = BarData.from_frame(frame)
        with self._lock:
            if series in self._live:
                self._held[series] = (data, self._clock())
            # Bars read afresh may differ from what a stream saw before (a re-ingest): start over.
            for key in [k for k in self._streams if k[0] == series]:
                del self._streams[key]
        return data.fresh()

    def _features(
        self, series: SeriesKey, feature_set: FeatureSet, last_ns: int
    ) -> tuple[np.ndarray, FloatMatrix, FloatMatrix]:
        data = self._bars(series, last_ns)
        matrix: FloatMatrix = feature_block(data, feature_set).T
        return data.ts_ns, data.close, matrix

    def _compute(
        self, series: SeriesKey, feature_set: FeatureSet, rows: int, now: float, last_ns: int
    ) -> FeatureRows:
        if series in self._live:
            data = self._bars(series, last_ns)
            ts, close = data.ts_ns, data.close
            with self._lock:
                stream = self._streams.get((series, feature_set.name))
                if stream is None:
                    stream = self._streams[(series, feature_set.name)] = FeatureStream(feature_set)
            tail = stream.tail(data, rows)
        else:
            ts, close, matrix = self._features(series, feature_set, last_ns)
            tail = np.array(matrix[-rows:], dtype=np.float64, order="C")
            tail.setflags(write=False)
        last_ns = int(ts[-1])
        latest = pd.Timestamp(last_ns, tz="UTC")
        version = DataVersion(latest, len(ts), bytes_hash([np.ascontiguousarray(tail[-1]).tobytes()]))
        return FeatureRows(
            source=series.source,
            last_ns=last_ns,
            timestamp=iso_utc(last_ns),
            latest_date=latest.date().isoformat(),
            last_close=float(close[-1]),
            matrix=tail,
            data_points=len(ts),
            checked=now,
            version=version,
        )
