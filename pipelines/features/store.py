"""Feature tables on disk: ``features/source=S/timeframe=T/symbol=SYM/features.parquet``.

A table holds the bar identity columns, every feature of the chosen set and the forward labels
(``label_*``, the only columns that look ahead). It is rebuilt from the stored bars in full, which
is cheap at the library's speed, and replaced atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.data.catalog import Catalog
from pipelines.data.providers import normalize_source
from pipelines.data.store import DatasetKey, ParquetStore, atomic_write_table
from pipelines.data.symbols import parse_symbol, path_safe
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import DataNotFoundError
from pipelines.features.compute import compute_features
from pipelines.features.labels import make_labels
from pipelines.features.sets import get_feature_set
from pipelines.settings import Settings

__all__ = ["FeatureBuild", "build_features", "feature_count", "features_path", "load_features"]

LABEL_HORIZONS = (1, 5, 20)
_IDENTITY = ("timestamp", "symbol", "timeframe", "source", "close")


@dataclass(frozen=True)
class FeatureBuild:
    path: Path
    rows: int
    columns: int
    feature_columns: list[str]
    seconds: float
    first: str
    last: str

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "rows": self.rows,
            "columns": self.columns,
            "feature_count": len(self.feature_columns),
            "first": self.first,
            "last": self.last,
            "seconds": round(self.seconds, 4),
        }


def features_path(settings: Settings, source: str, timeframe: str, symbol: str) -> Path:
    return (
        settings.features_dir
        / f"source={source}"
        / f"timeframe={timeframe}"
        / f"symbol={path_safe(symbol)}"
        / "features.parquet"
    )


def build_features(
    settings: Settings, *, source: str, symbol: str, timeframe: str, feature_set: str = "default"
) -> FeatureBuild:
    """Compute ``feature_set`` and labels over all stored bars of one dataset and store the table."""
    began = time.perf_counter()
    src = normalize_source(source)
    tf = parse_timeframe(timeframe)
    sym = parse_symbol(symbol)
    fset = get_feature_set(feature_set)
    store = ParquetStore(settings.market_dir, settings.locks_dir)
    bars = store.read(DatasetKey(src, tf.name, sym.name))
    if bars.empty:
        raise DataNotFoundError(
            f"no stored {tf.name} bars of {sym.name} from source {src!r}; run `tradeforge ingest` first"
        )
    feats = compute_features(bars, fset)
    labels = make_labels(bars, LABEL_HORIZONS)
    table_frame = pd.concat(
        [
            bars[["timestamp", "symbol", "timeframe", "source", "close"]].reset_index(drop=True),
            feats.drop(columns=["timestamp"]).reset_index(drop=True),
            labels.drop(columns=["timestamp"], errors="ignore").reset_index(drop=True),
        ],
        axis=1,
    )
    table = pa.Table.from_pandas(table_frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"tradeforge.feature_set": fset.name.encode()}
    )
    path = features_path(settings, src, tf.name, sym.name)
    atomic_write_table(table, path, compression="zstd", compression_level=1)
    Catalog(settings).refresh()
    return FeatureBuild(
        path=path,
        rows=table.num_rows,
        columns=table.num_columns,
        feature_columns=list(fset.columns),
        seconds=time.perf_counter() - began,
        first=bars["timestamp"].iloc[0].isoformat(),
        last=bars["timestamp"].iloc[-1].isoformat(),
    )


def load_features(settings: Settings, *, source: str, symbol: str, timeframe: str) -> pd.DataFrame:
    """The stored feature table of one dataset."""
    src, tf, sym = normalize_source(source), parse_timeframe(timeframe), parse_symbol(symbol)
    path = features_path(settings, src, tf.name, sym.name)
    if not path.is_file():
        raise DataNotFoundError(
            f"no features for {sym.name} {tf.name} from {src!r}; run `tradeforge features`"
        )
    frame: pd.DataFrame = pq.read_table(path).to_pandas()
    return frame


def feature_count(settings: Settings, *, source: str, symbol: str, timeframe: str) -> int | None:
    """How many features the stored table of one dataset holds (None when there is none)."""
    path = features_path(settings, source, timeframe, symbol)
    if not path.is_file():
        return None
    names = pq.read_schema(path).names
    return sum(1 for n in names if n not in _IDENTITY and not n.startswith("label_"))
