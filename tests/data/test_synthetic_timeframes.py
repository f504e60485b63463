"""One synthetic market across timeframes: a resample of finer stored bars equals the coarser ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.data.ingest import ingest, plan_ingest
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.warehouse import Warehouse
from pipelines.settings import Settings

NOW = pd.Timestamp("2025-06-30T12:00", tz="UTC")
START, END = "2024-03-07", "2024-03-13"  # a weekend and the switch to summer time in New York
OHLC = ["open", "high", "low", "close"]


def load(settings: Settings, symbol: str, tf: str) -> None:
    plan = plan_ingest(settings, source="synthetic", symbols=[symbol], timeframe=tf, start=START, end=END)
    report = ingest(settings, plan, provider=SyntheticProvider(42, now=lambda: NOW), now=NOW)
    assert not report.failed


@pytest.mark.parametrize(
    ("symbol", "fine", "coarse"),
    [
        ("BTC/USDT", "1m", "4h"),
        ("BTC/USDT", "1m", "1h"),
        ("BTC/USDT", "1h", "1d"),
        ("AAPL", "1h", "1d"),
        ("AAPL", "1m", "4h"),
        ("ETH/USDT", "2m", "30m"),
    ],
)
def test_resampled_finer_bars_equal_the_stored_coarser_ones(
    settings: Settings, symbol: str, fine: str, coarse: str
) -> None:
    load(settings, symbol, fine)
    load(settings, symbol, coarse)
    warehouse = Warehouse(settings)
    resampled = warehouse.resample(
        source="synthetic", symbol=symbol, from_timeframe=fine, to_timeframe=coarse
    )
    stored = warehouse.query(
        "SELECT * FROM bars WHERE symbol = ? AND timeframe = ? ORDER BY timestamp", [symbol, coarse]
    )
    assert len(stored) >= 4 and len(resampled) == len(stored)
    np.testing.assert_array_equal(
        pd.DatetimeIndex(resampled["timestamp"]).asi8, pd.DatetimeIndex(stored["timestamp"]).asi8
    )
    np.testing.assert_array_equal(resampled[OHLC].to_numpy(), stored[OHLC].to_numpy())  # exactly
    np.testing.assert_allclose(resampled["volume"], stored["volume"], rtol=1e-12)


def fetch(p: SyntheticProvider, symbol: str, tf: str, a: str, b: str) -> pd.DataFrame:
    start, end = pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")
    return p.fetch(parse_symbol(symbol), parse_timeframe(tf), start, end)


@pytest.mark.parametrize(("symbol", "tf"), [("BTC/USDT", "1m"), ("AAPL", "5m"), ("SOL/USDT", "4h")])
def test_intraday_bars_do_not_depend_on_the_requested_range(symbol: str, tf: str) -> None:
    p = SyntheticProvider(42, now=lambda: NOW)
    whole = fetch(p, symbol, tf, "2024-03-06", "2024-03-14")
    part = fetch(p, symbol, tf, "2024-03-08 14:37", "2024-03-11 15:03")
    assert len(part) > 10
    window = whole[
        (whole["timestamp"] >= part["timestamp"].iloc[0]) & (whole["timestamp"] <= part["timestamp"].iloc[-1])
    ]
    pd.testing.assert_frame_equal(window.reset_index(drop=True), part)
    late = fetch(
        SyntheticProvider(42, now=lambda: NOW + pd.Timedelta(days=400)),
        symbol,
        tf,
        "2024-03-06",
        "2024-03-14",
    )
    pd.testing.assert_frame_equal(whole, late)
