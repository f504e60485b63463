"""The synthetic provider: determinism, sessions, and the stylized facts of real markets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe

NOW = pd.Timestamp("2025-06-30T12:00", tz="UTC")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def provider() -> SyntheticProvider:
    return SyntheticProvider(42, now=lambda: NOW)


def fetch(p: SyntheticProvider, sym: str, tf: str, a: str, b: str) -> pd.DataFrame:
    return p.fetch(parse_symbol(sym), parse_timeframe(tf), ts(a), ts(b))


def test_canonical_schema(provider: SyntheticProvider) -> None:
    bars = fetch(provider, "AAPL", "1d", "2024-01-01", "2024-02-01")
    assert list(bars.columns) == [
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "symbol",
        "timeframe",
        "source",
    ]
    assert str(bars["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert all(bars[c].dtype == np.float64 for c in ("open", "high", "low", "close", "volume"))
    assert set(bars["source"].astype(str)) == {"synthetic"}
    assert set(bars["symbol"].astype(str)) == {"AAPL"}


def test_same_bars_whatever_the_requested_range(provider: SyntheticProvider) -> None:
    whole = fetch(provider, "BTC/USDT", "1h", "2024-01-01", "2024-03-01")
    parts = pd.concat(
        [
            fetch(provider, "BTC/USDT", "1h", "2024-01-01", "2024-01-17 05:00"),
            fetch(provider, "BTC/USDT", "1h", "2024-01-17 05:00", "2024-03-01"),
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(whole, parts)
    other = SyntheticProvider(42, now=lambda: NOW)
    pd.testing.assert_frame_equal(whole, fetch(other, "BTC/USDT", "1h", "2024-01-01", "2024-03-01"))
    different_seed = SyntheticProvider(7, now=lambda: NOW)
    assert not np.allclose(
        whole["close"], fetch(different_seed, "BTC/USDT", "1h", "2024-01-01", "2024-03-01")["close"]
    )


def test_stock_minute_bars_follow_new_york_sessions(provider: SyntheticProvider) -> None:
    bars = fetch(provider, "AAPL", "1m", "2024-03-07", "2024-03-13")  # DST starts 2024-03-10
    local = pd.DatetimeIndex(bars["timestamp"]).tz_convert("America/New_York")
    assert local.day_of_week.max() <= 4, "weekdays only"
    minutes = local.hour * 60 + local.minute
    assert minutes.min() == 9 * 60 + 30 and minutes.max() == 15 * 60 + 59
    assert len(bars) == 4 * 390  # Thu, Fri, Mon, Tue
    holiday = fetch(provider, "AAPL", "1d", "2024-07-03", "2024-07-06")
    assert [str(t.date()) for t in holiday["timestamp"]] == ["2024-07-03", "2024-07-05"]  # no July 4th
    utc_open = pd.DatetimeIndex(bars["timestamp"]).groupby(local.date)
    firsts = sorted(v.min().strftime("%H:%M") for v in utc_open.values())
    assert firsts == ["13:30", "13:30", "14:30", "14:30"]  # winter time, then summer time


def test_crypto_runs_around_the_clock(provider: SyntheticProvider) -> None:
    bars = fetch(provider, "ETH/USDT", "1h", "2024-03-09", "2024-03-11")  # a weekend
    assert len(bars) == 48
    assert (np.diff(bars["timestamp"].to_numpy()).astype("timedelta64[m]").astype(int) == 60).all()


def test_ohlc_valid_and_prices_on_tick(provider: SyntheticProvider) -> None:
    bars = fetch(provider, "MSFT", "5m", "2024-01-01", "2024-04-01")
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all()
    assert (lo > 0).all() and (bars["volume"] > 0).all()
    cents = np.round(c * 100)
    assert np.allclose(cents / 100, c, atol=1e-9)
    # Each price is the double nearest its decimal, so JSON shows 19712.51, not 19712.510000000002.
    prices = np.concatenate([o, h, lo, c])
    assert (np.round(prices * 100) / 100 == prices).all()


def test_daily_closes_agree_across_timeframes(provider: SyntheticProvider) -> None:
    daily = fetch(provider, "AAPL", "1d", "2024-05-01", "2024-06-01")
    minute = fetch(provider, "AAPL", "1m", "2024-05-01", "2024-06-01")
    last_minute = minute.groupby(minute["timestamp"].dt.date)["close"].last().to_numpy()
    np.testing.assert_allclose(last_minute, daily["close"].to_numpy())


def test_stylized_facts(provider: SyntheticProvider) -> None:
    bars = fetch(provider, "SPY", "1d", "2000-01-01", "2024-01-01")
    r = np.diff(np.log(bars["close"].to_numpy()))
    kurtosis = ((r - r.mean()) ** 4).mean() / r.var() ** 2
    assert kurtosis > 4.5, "fat tails"
    a = np.abs(r)
    assert np.corrcoef(a[:-1], a[1:])[0, 1] > 0.1, "volatility clustering"
    assert np.corrcoef(np.abs(r), bars["volume"].to_numpy()[1:])[0, 1] > 0.2, "volume tied to |return|"
    assert bars["close"].min() > 50 and bars["close"].max() < 5000, "plausible levels"
    annual_vol = r.std() * np.sqrt(252)
    assert 0.08 < annual_vol < 0.4


def test_only_closed_bars_are_returned() -> None:
    now = pd.Timestamp("2024-06-05T14:10:30", tz="UTC")
    p = SyntheticProvider(1, now=lambda: now)
    hourly = p.fetch(parse_symbol("BTC/USDT"), parse_timeframe("1h"), ts("2024-06-05"), ts("2024-06-06"))
    assert hourly["timestamp"].iloc[-1] == ts("2024-06-05 13:00")
    daily = p.fetch(parse_symbol("BTC/USDT"), parse_timeframe("1d"), ts("2024-06-01"), ts("2024-06-10"))
    assert daily["timestamp"].iloc[-1] == ts("2024-06-04")


def test_weekly_and_monthly_bars_aggregate_daily(provider: SyntheticProvider) -> None:
    daily = fetch(provider, "BTC/USDT", "1d", "2024-01-01", "2024-03-01")
    monthly = fetch(provider, "BTC/USDT", "1mo", "2024-01-01", "2024-03-01")
    assert list(monthly["timestamp"]) == [ts("2024-01-01"), ts("2024-02-01")]
    jan = daily[daily["timestamp"] < ts("2024-02-01")]
    assert monthly["open"].iloc[0] == jan["open"].iloc[0]
    assert monthly["high"].iloc[0] == jan["high"].max()
    assert monthly["close"].iloc[0] == jan["close"].iloc[-1]
    assert monthly["volume"].iloc[0] == pytest.approx(jan["volume"].sum())
    weekly = fetch(provider, "BTC/USDT", "1wk", "2024-01-01", "2024-03-01")
    assert (pd.DatetimeIndex(weekly["timestamp"]).day_of_week == 0).all()


def test_naive_times_rejected(provider: SyntheticProvider) -> None:
    from pipelines.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="timezone-aware"):
        provider.fetch(
            parse_symbol("AAPL"), parse_timeframe("1d"), pd.Timestamp("2024-01-01"), ts("2024-02-01")
        )
