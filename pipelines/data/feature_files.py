"""Where a dataset's feature table lives, and how many features it holds, read without loading the
feature library (numba, DuckDB): listing the stored datasets needs only the file and its schema."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from pipelines.data.schema import BAR_COLUMNS
from pipelines.data.symbols import path_safe
from pipelines.settings import Settings

__all__ = ["feature_count", "features_path"]


def features_path(settings: Settings, source: str, timeframe: str, symbol: str) -> Path:
    return (
        settings.features_dir
        / f"source={source}"
        / f"timeframe={timeframe}"
        / f"symbol={path_safe(symbol)}"
        / "features.parquet"
    )


def feature_count(settings: Settings, *, source: str, symbol: str, timeframe: str) -> int | None:
    """How many features the stored table of one dataset holds (None when there is none)."""
    path = features_path(settings, source, timeframe, symbol)
    if not path.is_file():
        return None
    names = pq.read_schema(path).names
    return sum(1 for n in names if n not in BAR_COLUMNS and not n.startswith("label_"))
