"""DuckDB views and resampling; the quality rules."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.data.ingest import ingest, plan_ingest
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.quality import check_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.warehouse import Warehouse
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.settings import Settings

NOW = pd.Timestamp("2025-06-30T12:00", tz="UTC")


def load(settings: Settings, symbols: list[str], tf: str, start: str, end: str) -> None:
    request = plan_ingest(settings, source="synthetic", symbols=symbols, timeframe=tf, start=start, end=end)
    ingest(settings, request, provider=SyntheticProvider(42, now=lambda: NOW), now=NOW)


def synthetic(symbol: str, tf: str, a: str, b: str) -> pd.DataFrame:
    p = SyntheticProvider(42, now=lambda: NOW)
    return p.fetch(
        parse_symbol(symbol), parse_timeframe(tf), pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")
    )


def test_views_exist_before_and_after_data(settings: Settings) -> None:
    catalog = Warehouse(settings)
    assert catalog.query("SELECT count(*) AS n FROM bars")["n"].iloc[0] == 0
    load(settings, ["AAPL", "BTC/USDT"], "1d", "2024-01-01", "2024-03-01")
    counts = catalog.query("SELECT symbol, count(*) AS n FROM bars GROUP BY symbol ORDER BY symbol")
    assert counts.to_dict("records") == [{"symbol": "AAPL", "n": 41}, {"symbol": "BTC/USDT", "n": 60}]
    # The warehouse file is a plain DuckDB database that users can open themselves.
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        views = {
            r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
    assert {"bars", "features"} <= views


def test_new_files_are_visible_without_redefining_views(settings: Settings) -> None:
    load(settings, ["BTC/USDT"], "1d", "2024-01-01", "2024-02-01")
    catalog = Warehouse(settings)
    assert catalog.query("SELECT count(*) AS n FROM bars")["n"].iloc[0] == 31
    load(settings, ["ETH/USDT"], "1d", "2024-01-01", "2024-02-01")
    assert catalog.query("SELECT count(DISTINCT symbol) AS n FROM bars")["n"].iloc[0] == 2


def test_refresh_after_each_ingest_opens_duckdb_only_when_the_views_may_differ(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live feed refreshes after every bar: unchanged views in an unchanged file cost no connection,
    while a file changed by someone else is read (and mended) again."""
    load(settings, ["BTC/USDT"], "1d", "2024-01-01", "2024-02-01")
    catalog = Warehouse(settings)
    opened: list[bool] = []
    connect = Warehouse._connect

    def counted(self: Warehouse, *, read_only: bool) -> Any:
        opened.append(read_only)
        return connect(self, read_only=read_only)

    monkeypatch.setattr(Warehouse, "_connect", counted)
    load(settings, ["BTC/USDT"], "1d", "2024-01-01", "2024-02-03")  # new bars in the same files
    catalog.refresh()
    assert opened == []
    with duckdb.connect(str(settings.warehouse_path)) as con:  # another process writes to the file
        con.execute("CREATE TABLE notes (x INTEGER)")
    catalog.refresh()
    assert opened == [True]  # read the views again: still the wanted ones
    catalog.refresh()
    assert opened == [True]
    with duckdb.connect(str(settings.warehouse_path)) as con:  # ... and drops a view
        con.execute("DROP VIEW bars")
        con.execute("DELETE FROM tradeforge_views WHERE name = 'bars'")
    catalog.refresh()
    assert opened == [True, True, False]  # read the views, found one missing, recreated them
    assert catalog.query("SELECT count(*) AS n FROM bars")["n"].iloc[0] == 33


def test_resample_crypto_minutes_to_five_minutes_and_hours(settings: Settings) -> None:
    load(settings, ["BTC/USDT"], "1m", "2024-01-01", "2024-01-03")
    minute = synthetic("BTC/USDT", "1m", "2024-01-01", "2024-01-03").set_index("timestamp")
    expected = minute.resample("5min").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    got = Warehouse(settings).resample(
        source="synthetic", symbol="BTC/USDT", from_timeframe="1m", to_timeframe="5m"
    )
    assert len(got) == len(expected) == 2 * 288
    np.testing.assert_array_equal(got["timestamp"].to_numpy(), expected.index.to_numpy())
    for col in ("open", "high", "low", "close"):
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy())
    np.testing.assert_allclose(got["volume"].to_numpy(), expected["volume"].to_numpy(), rtol=1e-12)
    assert set(got["timeframe"].astype(str)) == {"5m"}
    hourly = Warehouse(settings).resample(
        source="synthetic", symbol="BTC/USDT", from_timeframe="1m", to_timeframe="4h"
    )
    assert len(hourly) == 12 and hourly["timestamp"].iloc[1] == pd.Timestamp("2024-01-01 04:00", tz="UTC")


def test_resample_stock_minutes_keeps_session_alignment(settings: Settings) -> None:
    load(settings, ["AAPL"], "1m", "2024-03-08", "2024-03-12")
    hourly = Warehouse(settings).resample(
        source="synthetic", symbol="AAPL", from_timeframe="1m", to_timeframe="1h"
    )
    direct = synthetic("AAPL", "1h", "2024-03-08", "2024-03-12")
    np.testing.assert_array_equal(
        hourly["timestamp"].to_numpy(), direct["timestamp"].to_numpy()
    )  # 09:30 aligned
    last_of_day = hourly.groupby(hourly["timestamp"].dt.date)["close"].last().to_numpy()
    np.testing.assert_allclose(last_of_day, synthetic("AAPL", "1d", "2024-03-08", "2024-03-12")["close"])
    daily = Warehouse(settings).resample(
        source="synthetic", symbol="AAPL", from_timeframe="1m", to_timeframe="1d"
    )
    np.testing.assert_allclose(
        daily["close"].to_numpy(), synthetic("AAPL", "1d", "2024-03-08", "2024-03-12")["close"]
    )


def test_resample_daily_to_weeks_and_months(settings: Settings) -> None:
    load(settings, ["ETH/USDT"], "1d", "2024-01-01", "2024-04-01")
    weekly = Warehouse(settings).resample(
        source="synthetic", symbol="ETH/USDT", from_timeframe="1d", to_timeframe="1wk"
    )
    assert (pd.DatetimeIndex(weekly["timestamp"]).day_of_week == 0).all()
    monthly = Warehouse(settings).resample(
        source="synthetic", symbol="ETH/USDT", from_timeframe="1d", to_timeframe="1mo"
    )
    direct = synthetic("ETH/USDT", "1mo", "2024-01-01", "2024-04-01")
    np.testing.assert_allclose(
        monthly[["open", "high", "low", "close"]].to_numpy(),
        direct[["open", "high", "low", "close"]].to_numpy(),
    )


def test_resample_rejects_bad_requests(settings: Settings) -> None:
    catalog = Warehouse(settings)
    with pytest.raises(InvalidRequestError, match="must be longer"):
        catalog.resample(source="synthetic", symbol="AAPL", from_timeframe="1h", to_timeframe="5m")
    with pytest.raises(DataNotFoundError, match="no stored 1m bars of AAPL"):
        catalog.resample(source="synthetic", symbol="AAPL", from_timeframe="1m", to_timeframe="5m")


def test_quality_rules_pass_on_clean_data_and_count_violations() -> None:
    bars = synthetic("BTC/USDT", "1h", "2024-01-01", "2024-01-03")
    assert check_bars(bars, parse_timeframe("1h"), crypto=True).passed
    broken = bars.copy()
    broken.loc[3, "high"] = broken.loc[3, "open"] * 0.9
    broken.loc[5, "low"] = broken.loc[5, "close"] * 1.1
    broken.loc[7, "volume"] = -1.0
    broken.loc[9, "timestamp"] = broken.loc[8, "timestamp"]
    report = check_bars(broken, parse_timeframe("1h"), crypto=True)
    assert not report.passed
    assert (report.high_below_open_or_close, report.low_above_open_or_close, report.negative_volume) == (
        1,
        1,
        1,
    )
    assert report.duplicate_timestamps == 1 and report.non_increasing_timestamps == 1
    assert "1 rows with negative volume" in report.failures()


def test_gaps_are_counted_but_market_closures_are_not() -> None:
    crypto = synthetic("BTC/USDT", "1h", "2024-01-01", "2024-01-03").drop(index=[10, 11, 12])
    report = check_bars(crypto, parse_timeframe("1h"), crypto=True)
    assert report.passed and report.gap_count == 1 and report.gaps[0].missing_bars == 3
    # A stock over a weekend and the July 4th holiday: no gaps.
    stock = synthetic("AAPL", "1d", "2024-06-28", "2024-07-10")
    assert check_bars(stock, parse_timeframe("1d"), crypto=False).gap_count == 0
    missing_day = stock[stock["timestamp"] != pd.Timestamp("2024-07-08", tz="UTC")]
    gaps = check_bars(missing_day, parse_timeframe("1d"), crypto=False)
    assert gaps.gap_count == 1 and gaps.gaps[0].missing_bars == 1
    minutes = synthetic("AAPL", "5m", "2024-07-03", "2024-07-09")  # overnight, holiday, weekend
    assert check_bars(minutes, parse_timeframe("5m"), crypto=False).gap_count == 0
    assert check_bars(minutes.drop(index=[20, 21]), parse_timeframe("5m"), crypto=False).gap_count == 1
