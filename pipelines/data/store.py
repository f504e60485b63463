"""The Parquet bar store: ``market/source=S/timeframe=T/symbol=SYM/year=Y/data.parquet``.

One file per year, merged with what is stored and atomically replaced (temp file + rename on disk,
one whole-object upload on S3: see :mod:`pipelines.data.storage`), so a reader always sees whole
files and a timestamp is never stored twice. Each file carries its first
and last timestamp and row count in its key-value metadata, so bounds need no data scan.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.data.schema import BAR_SCHEMA, PRICE_COLUMNS, empty_bars
from pipelines.data.storage import DataStorage, atomic_write_table, data_storage, local_storage
from pipelines.data.symbols import path_safe
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = ["ParquetStore", "SeriesBounds", "SeriesKey", "WriteResult", "atomic_write_table"]

_META_FIRST, _META_LAST, _META_ROWS, _META_SYMBOL = (
    b"tradeforge.first",
    b"tradeforge.last",
    b"tradeforge.rows",
    b"tradeforge.symbol",
)
_LABELS = ("symbol", "timeframe", "source")
_WRITE_SCHEMA = pa.schema(
    [
        f if f.name not in _LABELS else pa.field(f.name, pa.dictionary(pa.int32(), pa.string()))
        for f in BAR_SCHEMA
    ]
)


@dataclass(frozen=True, slots=True)
class SeriesKey:
    source: str
    timeframe: str
    symbol: str  # canonical name, e.g. BTC/USDT


@dataclass(frozen=True, slots=True)
class SeriesBounds:
    key: SeriesKey
    first: pd.Timestamp
    last: pd.Timestamp
    rows: int
    path: str  # the series' folder (s3://... on object storage)


@dataclass(frozen=True, slots=True)
class WriteResult:
    rows_written: int
    rows_total: int
    path: str


class ParquetStore:
    """Bars on disk or in object storage. All writes of one series are serialised by a file lock
    (per machine: concurrent writers of one series on several machines need one scheduler)."""

    def __init__(self, root: Path | str, locks_dir: Path, storage: DataStorage | None = None) -> None:
        self.storage = storage or local_storage(Path(root))
        self.root = str(root)
        self.locks_dir = locks_dir
        self._fs = self.storage.filesystem

    @classmethod
    def open(cls, settings: Settings) -> ParquetStore:
        """The market store of these settings: the home's ``market/`` or ``TRADEFORGE_DATA_URL``."""
        storage = data_storage(settings)
        return cls(storage.market_root, settings.locks_dir, storage)

    # -- layout --------------------------------------------------------------------------------
    def series_dir(self, key: SeriesKey) -> str:
        return self.storage.join(
            self.root, f"source={key.source}", f"timeframe={key.timeframe}", f"symbol={path_safe(key.symbol)}"
        )

    def year_files(self, key: SeriesKey) -> list[tuple[int, str]]:
        """(year, path) of each stored year file of one series, oldest first."""
        base = self.series_dir(key)
        found = []
        for path in self.storage.files_under(base):
            folder, name = posixpath.split(path)
            parent, year = posixpath.split(folder)
            if name == "data.parquet" and year.startswith("year=") and parent == base:
                found.append((int(year[5:]), path))
        return sorted(found)

    @contextmanager
    def lock(self, key: SeriesKey) -> Iterator[None]:
        self.locks_dir.mkdir(parents=True, exist_ok=True)
        name = f"{key.source}__{key.timeframe}__{path_safe(key.symbol)}.lock"
        with FileLock(str(self.locks_dir / name), timeout=600):
            yield

    # -- metadata ------------------------------------------------------------------------------
    def _meta(self, path: str) -> dict[bytes, bytes]:
        return dict(pq.read_schema(path, filesystem=self._fs).metadata or {})

    def bounds(self, key: SeriesKey) -> SeriesBounds | None:
        files = self.year_files(key)
        if not files:
            return None
        metas = [self._meta(p) for _, p in files]
        return SeriesBounds(
            key=key,
            first=pd.Timestamp(int(metas[0][_META_FIRST]), tz="UTC"),
            last=pd.Timestamp(int(metas[-1][_META_LAST]), tz="UTC"),
            rows=sum(int(m.get(_META_ROWS, b"0")) for m in metas),
            path=self.storage.uri(self.series_dir(key)),
        )

    def datasets(self) -> list[SeriesBounds]:
        """Every stored series with its bounds."""
        out = []
        join, children = self.storage.join, self.storage.children
        for source in (n for n in children(self.root) if n.startswith("source=")):
            for tf in (n for n in children(join(self.root, source)) if n.startswith("timeframe=")):
                for sym in (n for n in children(join(self.root, source, tf)) if n.startswith("symbol=")):
                    key = SeriesKey(source[7:], tf[10:], sym[7:])
                    files = self.year_files(key)
                    if not files:
                        continue
                    symbol = self._meta(files[0][1]).get(_META_SYMBOL, sym[7:].encode()).decode()
                    bounds = self.bounds(SeriesKey(key.source, key.timeframe, symbol))
                    if bounds is not None:
                        out.append(bounds)
        return out

    # -- read ----------------------------------------------------------------------------------
    def read(
        self, key: SeriesKey, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Stored bars with ``start <= timestamp < end`` (an empty frame when nothing is stored)."""
        table = self.read_table(key, start, end)
        if table is None:
            return empty_bars()
        frame: pd.DataFrame = table.to_pandas()
        return frame.reset_index(drop=True)

    def read_table(
        self, key: SeriesKey, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pa.Table | None:
        """:meth:`read` as an Arrow table, without metadata (None when nothing is stored)."""
        files = [
            p
            for year, p in self.year_files(key)
            if (start is None or year >= start.year) and (end is None or year <= end.year)
        ]
        if not files:
            return None
        table = pa.concat_tables([pq.read_table(p, schema=_WRITE_SCHEMA, filesystem=self._fs) for p in files])
        ts = table.column("timestamp")
        mask = None
        if start is not None:
            mask = pc.greater_equal(ts, pa.scalar(start.as_unit("ns"), type=ts.type))
        if end is not None:
            upper = pc.less(ts, pa.scalar(end.as_unit("ns"), type=ts.type))
            mask = upper if mask is None else pc.and_(mask, upper)
        if mask is not None:
            table = table.filter(mask)
        return table.replace_schema_metadata(None)

    # -- write ---------------------------------------------------------------------------------
    def write(self, bars: pd.DataFrame, *, locked: bool = False) -> WriteResult:
        """Merge canonical ``bars`` (one series) into the store; returns rows new to the store.

        ``locked`` says the caller already holds this series' lock (``with store.lock(key)``).
        """
        if bars.empty:
            raise InvalidRequestError("no bars to write")
        if any(len(pd.unique(bars[c])) != 1 for c in _LABELS):
            raise InvalidRequestError("bars to write must belong to one symbol, timeframe and source")
        key = SeriesKey(
            source=str(bars["source"].iloc[0]),
            timeframe=str(bars["timeframe"].iloc[0]),
            symbol=str(bars["symbol"].iloc[0]),
        )
        ts = bars["timestamp"].to_numpy(dtype="datetime64[ns]")
        years = ts.astype("datetime64[Y]").astype(np.int64) + 1970
        cuts = np.flatnonzero(np.diff(years)) + 1
        starts = np.concatenate([[0], cuts])
        stops = np.concatenate([cuts, [len(bars)]])
        with nullcontext() if locked else self.lock(key):
            existing = dict(self.year_files(key))
            jobs = [(int(years[a]), bars.iloc[a:b]) for a, b in zip(starts, stops, strict=True)]
            with ThreadPoolExecutor(max_workers=min(4, len(jobs))) as pool:
                written = list(
                    pool.map(lambda job: self._write_year(key, job[0], job[1], existing.get(job[0])), jobs)
                )
            bounds = self.bounds(key)
        assert bounds is not None
        return WriteResult(rows_written=sum(written), rows_total=bounds.rows, path=bounds.path)

    def _write_year(self, key: SeriesKey, year: int, part: pd.DataFrame, current: str | None) -> int:
        table = _to_table(part)
        new_rows: int = table.num_rows
        if current is not None:
            old = pq.read_table(current, schema=_WRITE_SCHEMA, filesystem=self._fs)
            old = old.replace_schema_metadata(None)
            old_ts = old.column("timestamp").to_numpy().view(np.int64)
            new_ts = table.column("timestamp").to_numpy().view(np.int64)
            keep_old = ~np.isin(old_ts, new_ts, assume_unique=True)
            new_rows = int(np.count_nonzero(~np.isin(new_ts, old_ts, assume_unique=True)))
            merged = pa.concat_tables([old.filter(pa.array(keep_old)), table])
            table = merged.take(pc.sort_indices(merged, sort_keys=[("timestamp", "ascending")]))
        stamps = table.column("timestamp").to_numpy().view(np.int64)
        table = table.replace_schema_metadata(
            {
                _META_FIRST: str(int(stamps[0])).encode(),
                _META_LAST: str(int(stamps[-1])).encode(),
                _META_ROWS: str(table.num_rows).encode(),
                _META_SYMBOL: key.symbol.encode(),
            }
        )
        self.storage.write_table(
            table,
            self.storage.join(self.series_dir(key), f"year={year}", "data.parquet"),
            compression="zstd",
            compression_level=1,
            use_dictionary=list(_LABELS),
            use_byte_stream_split=list(PRICE_COLUMNS),
            write_statistics=["timestamp"],
        )
        return new_rows


def _to_table(bars: pd.DataFrame) -> pa.Table:
    """Canonical bars as an Arrow table; label columns dictionary-encoded, no pandas metadata."""
    n = len(bars)
    columns: list[pa.Array] = [
        pa.array(
            bars["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64), type=pa.timestamp("ns", "UTC")
        )
    ]
    columns += [pa.array(bars[c].to_numpy(dtype=np.float64)) for c in PRICE_COLUMNS]
    for label in _LABELS:
        value = str(bars[label].iloc[0])
        columns.append(
            pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value]))
        )
    return pa.Table.from_arrays(columns, schema=_WRITE_SCHEMA)
