"""A feed tick's bar frames as runner bars: the same bars whatever the frame's layout (the block fast
path, the column path, the generic one)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.app.strategy_rows import bars_of
from pipelines.data.schema import with_labels
from pipelines.trading.runner import Bar

PRICES = ["open", "high", "low", "close", "volume"]


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    close = 100.0 + rng.normal(0.0, 1.0, rows)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-03-01 10:00", periods=rows, freq="min", tz="UTC"),
            "open": close - 0.1,
            "high": close + 0.5,
            "low": close - 0.5,
            "close": close,
            "volume": rng.uniform(1.0, 5.0, rows),
        }
    )


def _expected(frame: pd.DataFrame) -> list[Bar]:
    ts = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8.tolist()
    cols = [frame[c].astype(np.float64).tolist() for c in PRICES]
    return [Bar(t, *row) for t, *row in zip(ts, *cols, strict=True)]


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return with_labels(frame, symbol="BTC/USDT", timeframe="1m", source="synthetic")


@pytest.mark.parametrize("rows", [1, 3, 12])
@pytest.mark.parametrize(
    "layout",
    ["canonical", "labels", "reordered", "extra float between", "float32 volume", "ms unit", "copy"],
)
def test_bars_of_any_layout(rows: int, layout: str) -> None:
    frame = _frame(rows)
    expected = _expected(frame)
    if layout == "labels":
        frame = _labelled(frame.iloc[:rows].reset_index(drop=True))
    elif layout == "reordered":  # the prices not in their block's order
        frame = _labelled(frame[["close", "timestamp", "volume", "open", "low", "high"]].copy())
    elif layout == "extra float between":
        frame.insert(3, "spread", 0.25)
    elif layout == "float32 volume":
        frame["volume"] = frame["volume"].astype(np.float32)
        expected = _expected(frame)
    elif layout == "ms unit":
        frame["timestamp"] = frame["timestamp"].dt.as_unit("ms")
    elif layout == "copy":
        frame = frame.iloc[-rows:].copy()
    assert bars_of(frame) == expected


def test_bars_of_a_naive_timestamp_reads_utc() -> None:
    frame = _frame(2)
    expected = _expected(frame)
    frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    assert bars_of(frame) == expected


def test_bars_of_no_rows() -> None:
    assert bars_of(_labelled(_frame(3).iloc[:0].copy())) == []
