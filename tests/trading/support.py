"""Crafted 1-minute bars written to the market-data store, where the paper broker reads them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipelines.data.ingest import open_store
from pipelines.data.schema import with_labels
from pipelines.settings import Settings

__all__ = ["write_bars"]

Row = tuple[dt.datetime, float, float, float, float]


def write_bars(settings: Settings, symbol: str, rows: list[Row], *, source: str = "synthetic") -> None:
    """Store ``rows`` (open time, open, high, low, close) as 1m bars of ``symbol``."""
    frame = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex([r[0] for r in rows]).tz_convert("UTC").as_unit("ns"),
            "open": [r[1] for r in rows],
            "high": [r[2] for r in rows],
            "low": [r[3] for r in rows],
            "close": [r[4] for r in rows],
            "volume": [1.0] * len(rows),
        }
    )
    open_store(settings).write(with_labels(frame, symbol=symbol, timeframe="1m", source=source))


def minute(base: dt.datetime, n: int) -> dt.datetime:
    return base + dt.timedelta(minutes=n)
