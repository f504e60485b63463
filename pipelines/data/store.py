"""The Parquet bar store: ``market/source=S/timeframe=T/symbol=SYM/year=Y/data.parquet``.

One file per year, merged with what is stored and atomically replaced (temp file + rename), so a
reader always sees whole files and a timestamp is never stored twice. Each file carries its first
and last timestamp and row count in its key-value metadata, so bounds need no data scan.
"""

from __future__ import annotations

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

from pipelines.atomic import atomic_target
from pipelines.data.schema import BAR_SCHEMA, PRICE_COLUMNS, empty_bars
from pipelines.data.symbols import path_safe
from pipelines.errors import InvalidRequestError

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
    path: Path


@dataclass(frozen=True, slots=True)
class WriteResult:
    rows_written: int
    rows_total: int
    path: Path


def atomic_write_table(table: pa.Table, path: Path, *, make_parent: bool = True, **kwargs: object) -> None:
    """Write ``table`` to ``path`` through a hidden temp file in the same folder, fsynced and renamed.
    ``make_parent=False``: a missing folder is FileNotFoundError (the caller's data was removed)."""
    if make_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


class ParquetStore:
    """Bars on disk. All writes of one series are serialised by a file lock."""

    def __init__(self, root: Path, locks_dir: Path) -> None:
        self.root = root
        self.locks_dir = locks_dir

    # -- layout --------------------------------------------------------------------------------
    def series_dir(self, key: SeriesKey) -> Path:
        return (
            self.root
            / f"source={key.source}"
            / f"timeframe={key.timeframe}"
            / f"symbol={path_safe(key.symbol)}"
        )

    def _year_files(self, key: SeriesKey) -> list[tuple[int, Path]]:
        base = self.series_dir(key)
        if not base.is_dir():
            return []
        found = []
        for child in base.iterdir():
            if child.name.startswith("year=") and (child / "data.parquet").is_file():
                found.append((int(child.name[5:]), child / "data.parquet"))
        return sorted(found)

    @contextmanager
    def lock(self, key: SeriesKey) -> Iterator[None]:
        self.locks_dir.mkdir(parents=True, exist_ok=True)
        name = f"{key.source}__{key.timeframe}__{path_safe(key.symbol)}.lock"
        with FileLock(str(self.locks_dir / name), timeout=600):
            yield

    # -- metadata ------------------------------------------------------------------------------
    def bounds(self, key: SeriesKey) -> SeriesBounds | None:
        files = self._year_files(key)
        if not files:
            return None
        first_meta = pq.read_schema(files[0][1]).metadata or {}
        last_meta = pq.read_schema(files[-1][1]).metadata or {}
        rows = sum(int((pq.read_schema(p).metadata or {}).get(_META_ROWS, b"0")) for _, p in files)
        return SeriesBounds(
            key=key,
            first=pd.Timestamp(int(first_meta[_META_FIRST]), tz="UTC"),
            last=pd.Timestamp(int(last_meta[_META_LAST]), tz="UTC"),
            rows=rows,
            path=self.series_dir(key),
        )

    def datasets(self) -> list[SeriesBounds]:
        """Every stored series with its bounds."""
        out = []
        for source_dir in sorted(self.root.glob("source=*")):
            for tf_dir in sorted(source_dir.glob("timeframe=*")):
                for sym_dir in sorted(tf_dir.glob("symbol=*")):
                    files = sorted(sym_dir.glob("year=*/data.parquet"))
                    if not files:
                        continue
                    meta = pq.read_schema(files[0]).metadata or {}
                    symbol = meta.get(_META_SYMBOL, sym_dir.name[7:].encode()).decode()
                    key = SeriesKey(source_dir.name[7:], tf_dir.name[10:], symbol)
                    bounds = self.bounds(key)
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
            for year, p in self._year_files(key)
            if (start is None or year >= start.year) and (end is None or year <= end.year)
        ]
        if not files:
            return None
        table = pa.concat_tables([pq.read_table(p, schema=_WRITE_SCHEMA) for p in files])
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
            existing = dict(self._year_files(key))
            jobs = [(int(years[a]), bars.iloc[a:b]) for a, b in zip(starts, stops, strict=True)]
            with ThreadPoolExecutor(max_workers=min(4, len(jobs))) as pool:
                written = list(
                    pool.map(lambda job: self._write_year(key, job[0], job[1], existing.get(job[0])), jobs)
                )
            bounds = self.bounds(key)
        assert bounds is not None
        return WriteResult(rows_written=sum(written), rows_total=bounds.rows, path=self.series_dir(key))

    def _write_year(self, key: SeriesKey, year: int, part: pd.DataFrame, current: Path | None) -> int:
        table = _to_table(part)
        new_rows: int = table.num_rows
        if current is not None:
            old = pq.read_table(current, schema=_WRITE_SCHEMA).replace_schema_metadata(None)
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
        path = self.series_dir(key) / f"year={year}" / "data.parquet"
        atomic_write_table(
            table,
            path,
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
