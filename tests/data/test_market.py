"""Quotes and history: shapes, the freshest stored bars, period/interval rules, resampled OHLCV."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.data.ingest import ingest, open_store, plan_ingest
from pipelines.data.market import INTERVALS, PERIODS, ensure_stored, history, quote
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import Symbol
from pipelines.data.timeframes import Timeframe
from pipelines.errors import InvalidRequestError, InvalidSymbolError, UnknownSymbolError
from pipelines.settings import Settings

END = "2025-06-30T12:00"
AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
OHLCV = ["open", "high", "low", "close", "volume"]


def store(settings: Settings, symbol: str, timeframe: str, start: str, end: str = END) -> pd.DataFrame:
    plan = plan_ingest(
        settings, source="synthetic", symbols=[symbol], timeframe=timeframe, start=start, end=end
    )
    assert not ingest(settings, plan).failed
    return open_store(settings).read(SeriesKey("synthetic", timeframe, plan.symbols[0].name))


def as_frame(result: dict) -> pd.DataFrame:
    frame = pd.DataFrame(result["bars"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def assert_same_bars(result: dict, expected: pd.DataFrame) -> None:
    got = as_frame(result)
    want = expected.reset_index()[["timestamp", *OHLCV]]
    assert len(got) == len(want) > 0
    assert (got["timestamp"].to_numpy() == want["timestamp"].to_numpy()).all()
    pd.testing.assert_frame_equal(got[OHLCV], want[OHLCV], check_exact=False, rtol=1e-12)


def test_quote_ingests_daily_bars_when_nothing_is_stored(settings: Settings) -> None:
    q = quote(settings, "aapl")
    bars = open_store(settings).read(SeriesKey("synthetic", "1d", "AAPL"))
    assert [b.key.timeframe for b in open_store(settings).datasets()] == ["1d"]
    assert set(q) == {
        "symbol",
        "price",
        "change",
        "change_percent",
        "volume",
        "timestamp",
        "previous_close",
        "source",
        "timeframe",
    }
    price, previous = bars["close"].iloc[-1], bars["close"].iloc[-2]
    assert (q["symbol"], q["price"], q["previous_close"], q["source"], q["timeframe"]) == (
        "AAPL",
        price,
        previous,
        "synthetic",
        "1d",
    )
    assert q["change"] == pytest.approx(price - previous)
    assert q["change_percent"] == pytest.approx((price / previous - 1) * 100)
    assert q["volume"] == bars["volume"].iloc[-1]
    assert q["timestamp"] == bars["timestamp"].iloc[-1].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_quote_uses_the_freshest_bars(settings: Settings) -> None:
    daily = store(settings, "BTC/USDT", "1d", "2025-05-01")
    hourly = store(settings, "BTC/USDT", "1h", "2025-06-20")
    q = quote(settings, "BTC_USDT")
    last = hourly["timestamp"].iloc[-1]
    today = hourly["timestamp"] >= last.normalize()
    assert (q["symbol"], q["timeframe"], q["price"]) == ("BTC/USDT", "1h", hourly["close"].iloc[-1])
    assert q["volume"] == pytest.approx(hourly.loc[today, "volume"].sum())
    assert q["previous_close"] == hourly.loc[~today, "close"].iloc[-1]
    # synthetic intraday bars end each day on the daily close
    day_before = daily.loc[daily["timestamp"] == last.normalize() - pd.Timedelta(days=1), "close"]
    assert q["previous_close"] == pytest.approx(day_before.iloc[0])


def test_quote_rejects_a_malformed_symbol(settings: Settings) -> None:
    with pytest.raises(InvalidSymbolError):
        quote(settings, "no such thing!")
    assert open_store(settings).datasets() == []


def test_history_shape(settings: Settings) -> None:
    bars = store(settings, "AAPL", "1d", "2024-06-01")
    result = history(settings, "AAPL")
    assert {k: result[k] for k in ("symbol", "period", "interval", "source", "timeframe", "resampled")} == {
        "symbol": "AAPL",
        "period": "1mo",
        "interval": "1d",
        "source": "synthetic",
        "timeframe": "1d",
        "resampled": False,
    }
    end = bars["timestamp"].iloc[-1] + pd.Timedelta(days=1)
    want = bars[bars["timestamp"] >= end - pd.DateOffset(months=1)].set_index("timestamp")
    assert_same_bars(result, want)
    assert result["count"] == len(want) and set(result["bars"][0]) == {"timestamp", *OHLCV}
    assert result["start"] == result["bars"][0]["timestamp"] and result["end"].startswith("2025-06-30")
    ytd = history(settings, "AAPL", "ytd", "1wk")  # 1wk is not stored: ingested on its own
    assert ytd["timeframe"] == "1wk" and ytd["bars"][0]["timestamp"].startswith(ytd["end"][:4] + "-01-")
    assert history(settings, "AAPL", "max", "1d")["count"] == len(bars)


@pytest.mark.parametrize(
    ("period", "interval", "message"),
    [
        ("2w", "1d", "valid periods: " + ", ".join(PERIODS)),
        ("1mo", "3h", "valid intervals: " + ", ".join(INTERVALS)),
        ("1mo", "1m", "1m covers at most 7 days.*use period 1d, 5d,"),
        ("1y", "30m", "30m covers at most 60 days.*use period 1d, 5d, 1mo,"),
        ("6mo", "90m", "at most 60 days"),
        ("5y", "1h", "1h covers at most 730 days.*1y, 2y, ytd"),
        ("max", "60m", "60m covers at most 730 days"),
    ],
)
def test_history_validation(settings: Settings, period: str, interval: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        history(settings, "AAPL", period, interval)
    assert open_store(settings).datasets() == []  # rejected before any ingest


def test_60m_is_1h(settings: Settings) -> None:
    store(settings, "BTC/USDT", "1h", "2025-06-01")
    one_hour = history(settings, "BTC/USDT", "5d", "1h")
    sixty = history(settings, "BTC/USDT", "5d", "60m")
    assert sixty["bars"] == one_hour["bars"] and sixty["timeframe"] == "1h" and sixty["interval"] == "60m"
    assert one_hour["count"] == 5 * 24


def test_5d_and_3mo_match_pandas(settings: Settings) -> None:
    daily = store(settings, "BTC/USDT", "1d", "2023-01-01").set_index("timestamp")[OHLCV]
    end = daily.index[-1] + pd.Timedelta(days=1)

    quarters = history(settings, "BTC/USDT", "1y", "3mo")
    assert quarters["timeframe"] == "1d" and quarters["resampled"]
    part = daily[daily.index >= end - pd.DateOffset(years=1)]
    assert_same_bars(quarters, part.resample("QS").agg(AGG).dropna(subset=["open"]))
    assert [b["timestamp"][:10] for b in quarters["bars"]] == [
        "2024-07-01",
        "2024-10-01",
        "2025-01-01",
        "2025-04-01",
    ]

    five = history(settings, "BTC/USDT", "3mo", "5d")
    part = daily[daily.index >= end - pd.DateOffset(months=3)]
    naive = part.tz_localize(None).resample("5D", origin="epoch").agg(AGG).dropna(subset=["open"])
    assert_same_bars(five, naive.tz_localize("UTC"))


def test_90m_matches_pandas(settings: Settings) -> None:
    crypto = store(settings, "BTC/USDT", "30m", "2025-06-20").set_index("timestamp")[OHLCV]
    result = history(settings, "BTC/USDT", "5d", "90m")
    assert result["timeframe"] == "30m" and result["resampled"]
    part = crypto[crypto.index >= crypto.index[-1] + pd.Timedelta(minutes=30) - pd.Timedelta(days=5)]
    assert_same_bars(result, part.resample("90min", origin="epoch").agg(AGG).dropna(subset=["open"]))

    stock = store(settings, "AAPL", "30m", "2025-06-20").set_index("timestamp")[OHLCV]
    result = history(settings, "AAPL", "5d", "90m")
    part = stock[stock.index >= stock.index[-1] + pd.Timedelta(minutes=30) - pd.Timedelta(days=5)]
    local = part.index.tz_convert("America/New_York")
    minutes = (local.hour * 60 + local.minute - 570) // 90 * 90  # 90-minute buckets from the 09:30 open
    starts = (local.normalize() + pd.to_timedelta(570 + minutes, unit="min")).tz_convert("UTC")
    want = part.groupby(starts).agg(AGG)
    want.index.name = "timestamp"
    assert_same_bars(result, want)
    assert all(b["timestamp"][11:16] in {"13:30", "15:00", "16:30", "18:00", "19:30"} for b in result["bars"])


class UnknownProvider:
    name = "synthetic"

    def __init__(self) -> None:
        self.calls = 0

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        self.calls += 1
        raise UnknownSymbolError(f"the provider does not know {symbol.name!r}")


def test_ensure_stored_raises_the_providers_error(settings: Settings) -> None:
    provider = UnknownProvider()
    with pytest.raises(UnknownSymbolError, match="'ZZZZ'"):
        ensure_stored(settings, "ZZZZ", "1d", provider=provider)
    assert provider.calls == 1 and open_store(settings).datasets() == []
    store(settings, "AAPL", "1d", "2025-01-01")
    bounds = ensure_stored(settings, "AAPL", "1d", provider=provider)  # stored: no fetch
    assert provider.calls == 1 and bounds.last == pd.Timestamp("2025-06-30", tz="UTC")
