"""The canonical bar schema and the one function that coerces frames into it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["BAR_COLUMNS", "BAR_SCHEMA", "PRICE_COLUMNS", "empty_bars", "to_canonical", "with_labels"]

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
BAR_COLUMNS = ("timestamp", *PRICE_COLUMNS, "symbol", "timeframe", "source")

BAR_SCHEMA = pa.schema(
    [
        pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
        *(pa.field(c, pa.float64()) for c in PRICE_COLUMNS),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("timeframe", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)


def empty_bars() -> pd.DataFrame:
    frame = pd.DataFrame({"timestamp": pd.DatetimeIndex([], tz="UTC").as_unit("ns")})
    for col in PRICE_COLUMNS:
        frame[col] = np.empty(0, dtype=np.float64)
    return with_labels(frame, symbol="", timeframe="", source="")


def with_labels(frame: pd.DataFrame, *, symbol: str, timeframe: str, source: str) -> pd.DataFrame:
    """Set the constant ``symbol``, ``timeframe`` and ``source`` columns (categorical: one value each)."""
    codes = np.zeros(len(frame), dtype=np.int8)
    for col, value in (("symbol", symbol), ("timeframe", timeframe), ("source", source)):
        frame[col] = pd.Categorical.from_codes(codes, categories=pd.Index([value]))
    return frame


def to_canonical(
    frame: pd.DataFrame, *, symbol: str, timeframe: str, source: str, timestamp_column: str = "timestamp"
) -> pd.DataFrame:
    """Bars in the canonical schema: UTC ns timestamps, float64 OHLCV, sorted, de-duplicated.

    Rows with a missing price are dropped (Yahoo pads halted sessions with NaN rows); a duplicated
    timestamp keeps its last row, so a re-fetched bar replaces the older copy.
    """
    if frame.empty:
        return empty_bars()
    if _already_canonical(frame, timestamp_column):  # the common case: no copy at all
        out = frame.loc[:, ["timestamp", *PRICE_COLUMNS]]
        return with_labels(out, symbol=symbol, timeframe=timeframe, source=source)
    ts = pd.DatetimeIndex(pd.to_datetime(frame[timestamp_column], utc=True)).as_unit("ns")
    columns: dict[str, object] = {"timestamp": ts}
    for col in PRICE_COLUMNS:
        columns[col] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    out = pd.DataFrame(columns)
    # Each repair below costs a copy of the frame, so it runs only when it is needed.
    if out[["open", "high", "low", "close"]].isna().to_numpy().any():
        out = out.dropna(subset=["open", "high", "low", "close"])
    if out["volume"].isna().any():
        out["volume"] = out["volume"].fillna(0.0)
    stamps = pd.DatetimeIndex(out["timestamp"]).asi8
    if not (np.diff(stamps) > 0).all():
        out = out.sort_values("timestamp", kind="stable").drop_duplicates("timestamp", keep="last")
    return with_labels(out.reset_index(drop=True), symbol=symbol, timeframe=timeframe, source=source)


def _already_canonical(frame: pd.DataFrame, timestamp_column: str) -> bool:
    if timestamp_column != "timestamp" or str(frame["timestamp"].dtype) != "datetime64[ns, UTC]":
        return False
    for col in PRICE_COLUMNS:
        if frame[col].dtype != np.float64 or np.isnan(frame[col].to_numpy()).any():
            return False
    return bool((np.diff(pd.DatetimeIndex(frame["timestamp"]).asi8) > 0).all())
