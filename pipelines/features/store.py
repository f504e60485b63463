"""Feature tables on disk: ``features/source=S/timeframe=T/symbol=SYM/features.parquet``.

A table holds the bars themselves (timestamp, OHLCV and the dataset labels), every feature of the
chosen set and the forward labels (``label_*``, the only columns that look ahead). It is rebuilt
from the stored bars in full, which is cheap at the library's speed, and replaced atomically.

:class:`FeatureTable` is the one source training and the reports read: bars and features of one
snapshot with its :class:`DataVersion`. The Dagster assets read the materialized table
(:func:`read_feature_table`), so the MLflow run records the data the ``features`` asset wrote; a CLI
or API request reads the stored bars it asked for (:func:`stored_bars_table`, after the ingest use
case fetched what the store lacked), its features computed from them, versioned by the bar files read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.data.feature_files import feature_count, features_location
from pipelines.data.ingest import open_store, stored_version
from pipelines.data.providers import normalize_source
from pipelines.data.schema import BAR_COLUMNS
from pipelines.data.store import ParquetStore, SeriesKey
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.version import DataVersion, bytes_hash
from pipelines.data.warehouse import Warehouse
from pipelines.errors import DataNotFoundError
from pipelines.features.compute import compute_features
from pipelines.features.indicators import FeatureSet
from pipelines.features.labels import make_labels
from pipelines.features.sets import get_feature_set
from pipelines.settings import Settings

__all__ = [
    "FeatureBuild",
    "FeatureTable",
    "build_features",
    "feature_count",
    "features_location",
    "load_features",
    "read_feature_table",
    "stored_bars_table",
]

LABEL_HORIZONS = (1, 5, 20)
_FEATURE_SET_KEY = b"tradeforge.feature_set"


@dataclass(frozen=True)
class FeatureBuild:
    path: str  # the table's file (s3://... on object storage)
    rows: int
    columns: int
    feature_columns: list[str]
    seconds: float
    first: str
    last: str
    version: DataVersion

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "rows": self.rows,
            "columns": self.columns,
            "feature_count": len(self.feature_columns),
            "first": self.first,
            "last": self.last,
            "seconds": round(self.seconds, 4),
        }


def build_features(
    settings: Settings, *, source: str, symbol: str, timeframe: str, feature_set: str = "default"
) -> FeatureBuild:
    """Compute ``feature_set`` and labels over all stored bars of one dataset and store the table."""
    began = time.perf_counter()
    src = normalize_source(source)
    tf = parse_timeframe(timeframe)
    sym = parse_symbol(symbol)
    fset = get_feature_set(feature_set)
    store = ParquetStore.open(settings)
    bars = store.read(SeriesKey(src, tf.name, sym.name))
    if bars.empty:
        raise DataNotFoundError(
            f"no stored {tf.name} bars of {sym.name} from source {src!r}; run `tradeforge ingest` first"
        )
    feats = compute_features(bars, fset)
    labels = make_labels(bars, LABEL_HORIZONS)
    table_frame = pd.concat(
        [
            bars[list(BAR_COLUMNS)].reset_index(drop=True),
            feats.drop(columns=["timestamp"]).reset_index(drop=True),
            labels.drop(columns=["timestamp"], errors="ignore").reset_index(drop=True),
        ],
        axis=1,
    )
    table = pa.Table.from_pandas(table_frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), _FEATURE_SET_KEY: fset.name.encode()}
    )
    storage, path = features_location(settings, src, tf.name, sym.name)
    storage.write_table(table, path, compression="zstd", compression_level=1)
    Warehouse(settings).refresh()
    last = pd.Timestamp(bars["timestamp"].iloc[-1])
    return FeatureBuild(
        path=storage.uri(path),
        rows=table.num_rows,
        columns=table.num_columns,
        feature_columns=list(fset.columns),
        seconds=time.perf_counter() - began,
        first=bars["timestamp"].iloc[0].isoformat(),
        last=last.isoformat(),
        version=DataVersion.of_files([path], last_bar=last, rows=table.num_rows, storage=storage),
    )


def load_features(settings: Settings, *, source: str, symbol: str, timeframe: str) -> pd.DataFrame:
    """The stored feature table of one dataset."""
    src, tf, sym = normalize_source(source), parse_timeframe(timeframe), parse_symbol(symbol)
    storage, path = features_location(settings, src, tf.name, sym.name)
    if not storage.is_file(path):
        raise DataNotFoundError(
            f"no features for {sym.name} {tf.name} from {src!r}; run `tradeforge features`"
        )
    frame: pd.DataFrame = pq.read_table(path, filesystem=storage.filesystem).to_pandas()
    return frame


@dataclass(frozen=True)
class FeatureTable:
    """One dataset's data as a snapshot: its bars, its stored features (if any) and its version.

    ``frame`` holds the bars and, for a materialized table, the features of ``feature_set`` and the
    labels; ``feature_set`` is empty when no features are stored (they are computed on demand)."""

    key: SeriesKey
    frame: pd.DataFrame
    feature_set: str
    version: DataVersion
    path: Path | str  # the table file, or the dataset's folder of bars

    def _window(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
        ts = self.frame["timestamp"]
        keep = np.ones(len(ts), dtype=bool)
        if start is not None:
            keep &= np.asarray(ts >= start)
        if end is not None:
            keep &= np.asarray(ts < end)
        return self.frame.loc[keep].reset_index(drop=True)

    def bars(self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """The canonical bars with ``start <= timestamp < end``; ``DataNotFoundError`` when none."""
        missing = [c for c in BAR_COLUMNS if c not in self.frame.columns]
        if missing:
            raise DataNotFoundError(
                f"the feature table {self.path} predates the stored bars columns ({', '.join(missing)}); "
                "materialize the `features` asset again"
            )
        window = self._window(start, end)[list(BAR_COLUMNS)]
        if window.empty:
            k = self.key
            raise DataNotFoundError(
                f"no stored {k.timeframe} bars of {k.symbol} from source {k.source!r} in that range"
            )
        return window

    def features(
        self, fset: FeatureSet, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The bars of the window and ``timestamp`` plus ``fset``'s features for each of them.

        The stored columns are used as they are when they are ``fset`` and the window starts at the
        table's first bar (features only look back, so cutting the end changes no value); otherwise
        the features are computed from the window's bars, which are the same snapshot."""
        bars = self.bars(start, end)
        stored = fset.name == self.feature_set and all(c in self.frame.columns for c in fset.columns)
        if stored and bars["timestamp"].iloc[0] == self.frame["timestamp"].iloc[0]:
            return bars, self._window(start, end)[["timestamp", *fset.columns]]
        return bars, compute_features(bars, fset)


def read_feature_table(settings: Settings, *, source: str, symbol: str, timeframe: str) -> FeatureTable:
    """The materialized feature table of one dataset; nothing is fetched or computed.

    ``DataNotFoundError`` names what to materialize when the table is missing."""
    src, tf, sym = normalize_source(source), parse_timeframe(timeframe), parse_symbol(symbol)
    storage, path = features_location(settings, src, tf.name, sym.name)
    if not storage.is_file(path):
        raise DataNotFoundError(
            f"no materialized features for {sym.name} {tf.name} from source {src!r}: materialize the "
            f"`features` asset for partition {sym.path_name} (after `market_bars`), or run "
            "`tradeforge features`"
        )
    blob = storage.read_bytes(path)  # one read: the version is the hash of the very bytes parsed
    table = pq.read_table(pa.BufferReader(blob))
    frame: pd.DataFrame = table.to_pandas()
    meta = table.schema.metadata or {}
    last = pd.Timestamp(frame["timestamp"].iloc[-1]) if len(frame) else pd.Timestamp(0, tz="UTC")
    version = DataVersion(last_bar=last, rows=len(frame), content_hash=bytes_hash([blob]))
    return FeatureTable(
        key=SeriesKey(src, tf.name, sym.name),
        frame=frame,
        feature_set=meta.get(_FEATURE_SET_KEY, b"default").decode(),
        version=version,
        path=storage.uri(path),
    )


def stored_bars_table(
    settings: Settings, key: SeriesKey, start: pd.Timestamp, end: pd.Timestamp
) -> FeatureTable:
    """The stored bars of [start, end) as a table without stored features (they are computed from
    these bars), versioned by the year files read; read under the dataset's lock, so the version is
    that of the very bars read."""
    store = open_store(settings)
    with store.lock(key):
        bars = store.read(key, start, end)
        version = stored_version(settings, key, years=range(start.year, end.year + 1))
    if bars.empty or version is None:
        raise DataNotFoundError(
            f"no stored {key.timeframe} bars of {key.symbol} from source {key.source!r} in that range"
        )
    return FeatureTable(
        key=key, frame=bars, feature_set="", version=version, path=store.storage.uri(store.series_dir(key))
    )
