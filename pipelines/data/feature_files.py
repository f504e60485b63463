"""Where a dataset's feature table lives, and how many features it holds, read without loading the
feature library (numba, DuckDB): listing the stored datasets needs only the file and its schema."""

from __future__ import annotations

import pyarrow.parquet as pq

from pipelines.data.schema import BAR_COLUMNS
from pipelines.data.storage import DataStorage, data_storage
from pipelines.data.symbols import path_safe
from pipelines.settings import Settings

__all__ = ["feature_count", "features_location"]


def features_location(
    settings: Settings, source: str, timeframe: str, symbol: str
) -> tuple[DataStorage, str]:
    """The storage of the feature tables and the path in it of one dataset's table."""
    storage = data_storage(settings)
    path = storage.join(
        storage.features_root,
        f"source={source}",
        f"timeframe={timeframe}",
        f"symbol={path_safe(symbol)}",
        "features.parquet",
    )
    return storage, path


def feature_count(settings: Settings, *, source: str, symbol: str, timeframe: str) -> int | None:
    """How many features the stored table of one dataset holds (None when there is none)."""
    storage, path = features_location(settings, source, timeframe, symbol)
    if not storage.is_file(path):
        return None
    names = pq.read_schema(path, filesystem=storage.filesystem).names
    return sum(1 for n in names if n not in BAR_COLUMNS and not n.startswith("label_"))
