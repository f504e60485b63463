"""Market bars in the store, as the CLI and the demo list them: each stored series with its span,
latest close and the size of its feature table (the one view that needs both the bar store and the
feature store, hence here above both). Kept light: ``tradeforge data list`` imports only this."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.data.feature_files import feature_count
from pipelines.data.store import ParquetStore
from pipelines.settings import Settings

__all__ = ["DatasetSummary", "dataset_summaries"]


@dataclass(frozen=True)
class DatasetSummary:
    symbol: str
    source: str
    timeframe: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    last_close: float
    feature_count: int | None  # None when no feature table has been built


def dataset_summaries(settings: Settings) -> list[DatasetSummary]:
    """Every stored dataset with its span, latest close and the size of its feature table."""
    store = ParquetStore.open(settings)
    out = []
    for bounds in store.datasets():
        key = bounds.key
        last = store.read(key, bounds.last)
        out.append(
            DatasetSummary(
                symbol=key.symbol,
                source=key.source,
                timeframe=key.timeframe,
                rows=bounds.rows,
                first=bounds.first,
                last=bounds.last,
                last_close=float(last["close"].iloc[-1]),
                feature_count=feature_count(
                    settings, source=key.source, symbol=key.symbol, timeframe=key.timeframe
                ),
            )
        )
    return out
