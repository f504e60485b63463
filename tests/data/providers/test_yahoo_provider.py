"""YahooProvider against recorded ``Ticker.history`` frames (see conftest.RecordedYahoo)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import curl_cffi.requests.exceptions as curl_errors
import pandas as pd
import pytest
import requests
import yfinance as yf
from yfinance import exceptions as yfe

from pipelines.data.providers.base import Provider
from pipelines.data.providers.yahoo import LOOKBACK_MARGIN, YahooProvider
from pipelines.data.schema import BAR_COLUMNS
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import TIMEFRAMES
from pipelines.errors import InvalidRequestError, ProviderError, UnknownSymbolError

UTC = "UTC"
NOW = pd.Timestamp("2024-06-28 20:00", tz=UTC)
AAPL = parse_symbol("AAPL")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def provider(now: pd.Timestamp = NOW, max_retries: int = 2) -> YahooProvider:
    return YahooProvider(max_retries=max_retries, backoff=0, now=lambda: now)


def assert_canonical(bars: pd.DataFrame, symbol: str, timeframe: str) -> None:
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert str(bars["timestamp"].dtype) == "datetime64[ns, UTC]"
    for col in ("open", "high", "low", "close", "volume"):
        assert bars[col].dtype == "float64", col
    for col, value in (("symbol", symbol), ("timeframe", timeframe), ("source", "yfinance")):
        assert bars[col].astype(str).tolist() == [value] * len(bars)
        assert list(bars[col].astype("category").cat.categories) == [value]
    assert bars["timestamp"].is_monotonic_increasing and bars["timestamp"].is_unique


def test_provider_protocol() -> None:
    yahoo = YahooProvider()
    assert isinstance(yahoo, Provider)
    assert yahoo.name == "yfinance"


def test_daily_bars_keep_the_new_york_date_at_midnight_utc(yahoo) -> None:
    yahoo.add("AAPL", "1d", "yahoo_AAPL_1d.csv")
    bars = provider().fetch(AAPL, TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-10"))

    assert_canonical(bars, "AAPL", "1d")
    expected_days = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]
    assert list(bars["timestamp"]) == [ts(d) for d in expected_days]
    first = bars.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (
        185.789,
        187.07,
        182.553,
        184.532,
        82488700.0,
    )
    # one unchunked request for exchange-local calendar dates, adjusted, without actions
    assert len(yahoo.calls) == 1
    call = yahoo.calls[0]
    assert call.ticker == "AAPL"
    assert call.window == (dt.date(2024, 1, 2), dt.date(2024, 1, 10))
    assert call.kwargs["interval"] == "1d"
    assert call.kwargs["auto_adjust"] is True
    assert call.kwargs["actions"] is False
    # yfinance must raise instead of logging (see the module docstring)
    assert yf.config.debug.hide_exceptions is False


def test_daily_forex_date_does_not_shift_back_a_day(yahoo) -> None:
    # EURUSD=X is stamped at midnight London (BST, 23:00 UTC of the previous day)
    yahoo.add("EURUSD=X", "1d", "yahoo_EURUSD_X_1d.csv", tz="Europe/London")
    bars = provider(now=ts("2024-07-10")).fetch(
        parse_symbol("EURUSD=X"), TIMEFRAMES["1d"], ts("2024-07-01"), ts("2024-07-06")
    )
    assert_canonical(bars, "EURUSD=X", "1d")
    assert list(bars["timestamp"]) == [ts(f"2024-07-0{d}") for d in range(1, 6)]
    assert bars["open"].iloc[0] == pytest.approx(1.07181)
    assert (bars["volume"] == 0.0).all()


def test_daily_bar_of_the_current_day_is_dropped(yahoo) -> None:
    yahoo.add("AAPL", "1d", "yahoo_AAPL_1d.csv")
    bars = provider(now=ts("2024-01-12 18:00")).fetch(
        AAPL, TIMEFRAMES["1d"], ts("2024-01-10"), ts("2024-01-13")
    )
    assert list(bars["timestamp"]) == [ts("2024-01-10"), ts("2024-01-11")]


def test_weekend_range_is_empty_not_unknown(yahoo) -> None:
    yahoo.add("AAPL", "1d", "yahoo_AAPL_1d.csv")
    bars = provider().fetch(AAPL, TIMEFRAMES["1d"], ts("2024-01-06"), ts("2024-01-08"))
    assert bars.empty
    assert_canonical(bars, "AAPL", "1d")  # an empty frame still has the schema
    assert len(yahoo.calls) == 1  # YFPricesMissingError is an answer, not a failure: no retry


def test_unknown_symbol_is_not_retried(yahoo) -> None:
    yahoo.add("AAPL", "1d", "yahoo_AAPL_1d.csv")
    with pytest.raises(UnknownSymbolError, match="NOPE"):
        provider().fetch(parse_symbol("NOPE"), TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-10"))
    assert len(yahoo.calls) == 1


def test_http_404_from_the_symbol_lookup_is_unknown_symbol(yahoo) -> None:
    response = requests.Response()
    response.status_code = 404
    yahoo.script = [requests.HTTPError("404 Client Error: Not Found", response=response)]
    with pytest.raises(UnknownSymbolError, match="ZZZZ"):
        provider().fetch(parse_symbol("ZZZZ"), TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-10"))
    assert len(yahoo.calls) == 1


def test_transient_errors_are_retried_then_succeed(yahoo) -> None:
    yahoo.add("AAPL", "1d", "yahoo_AAPL_1d.csv")
    yahoo.script = [curl_errors.Timeout("Operation timed out"), yfe.YFRateLimitError(), None]
    bars = provider(max_retries=2).fetch(AAPL, TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-10"))
    assert len(yahoo.calls) == 3
    assert len(bars) == 6


def test_yahoo_outage_responses_are_transient(yahoo) -> None:
    yahoo.add("AAPL", "1d", "yahoo_AAPL_1d.csv")
    yahoo.script = [
        yfe.YFDataException("*** YAHOO! FINANCE IS CURRENTLY DOWN! ***"),
        json.JSONDecodeError("Expecting value", "<html>502 Bad Gateway</html>", 0),
        None,
    ]
    bars = provider(max_retries=2).fetch(AAPL, TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-10"))
    assert len(yahoo.calls) == 3
    assert not bars.empty


def test_retries_exhausted_raise_provider_error(yahoo) -> None:
    yahoo.add("AAPL", "1d", "yahoo_AAPL_1d.csv")
    yahoo.script = [curl_errors.ConnectionError("Could not resolve host")] * 5
    with pytest.raises(ProviderError, match="3 attempts"):
        provider(max_retries=2).fetch(AAPL, TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-10"))
    assert len(yahoo.calls) == 3


def test_http_4xx_is_not_retried(yahoo) -> None:
    response = requests.Response()
    response.status_code = 401
    yahoo.script = [requests.HTTPError("401 Client Error: Unauthorized", response=response)]
    with pytest.raises(ProviderError, match="Unauthorized"):
        provider().fetch(AAPL, TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-10"))
    assert len(yahoo.calls) == 1


def test_1m_request_is_split_into_7_day_chunks(yahoo) -> None:
    yahoo.add("AAPL", "1m", "yahoo_AAPL_1m.csv")
    yahoo_provider = provider()
    bars = yahoo_provider.fetch(AAPL, TIMEFRAMES["1m"], ts("2024-06-10"), ts("2024-06-25"))

    assert [call.window for call in yahoo.calls] == [
        (ts("2024-06-10"), ts("2024-06-17")),
        (ts("2024-06-17"), ts("2024-06-24")),
        (ts("2024-06-24"), ts("2024-06-25")),
    ]
    assert {call.kwargs["interval"] for call in yahoo.calls} == {"1m"}
    assert yahoo_provider.notes == []
    assert_canonical(bars, "AAPL", "1m")
    assert len(bars) == 9
    assert bars["timestamp"].iloc[0] == ts("2024-06-11 13:30")  # 09:30 New York (EDT) in UTC
    assert bars["timestamp"].iloc[-1] == ts("2024-06-24 13:32")


def test_1m_start_older_than_30_days_is_clamped_and_reported(yahoo, caplog) -> None:
    yahoo.add("AAPL", "1m", "yahoo_AAPL_1m.csv")
    yahoo_provider = provider()
    with caplog.at_level(logging.WARNING, logger="pipelines.data.providers.yahoo"):
        bars = yahoo_provider.fetch(AAPL, TIMEFRAMES["1m"], ts("2024-05-01"), ts("2024-06-25"))

    oldest = NOW - pd.Timedelta(days=30) + LOOKBACK_MARGIN
    assert oldest == ts("2024-05-29 20:10")
    week = pd.Timedelta(days=7)
    assert [call.window for call in yahoo.calls] == [
        (oldest, oldest + week),
        (oldest + week, oldest + 2 * week),
        (oldest + 2 * week, oldest + 3 * week),
        (oldest + 3 * week, ts("2024-06-25")),
    ]
    assert len(yahoo_provider.notes) == 1
    assert "clamped" in yahoo_provider.notes[0] and "30 days" in yahoo_provider.notes[0]
    assert any("clamped" in record.getMessage() for record in caplog.records)
    assert len(bars) == 9


def test_5m_request_is_clamped_to_60_days_in_one_chunk(yahoo) -> None:
    yahoo.add("AAPL", "5m", "yahoo_AAPL_5m.csv")
    yahoo_provider = provider()
    bars = yahoo_provider.fetch(AAPL, TIMEFRAMES["5m"], ts("2024-03-01"), ts("2024-06-25"))

    oldest = ts("2024-04-29 20:10")  # 60 days before NOW, plus the safety margin
    assert [call.window for call in yahoo.calls] == [(oldest, ts("2024-06-25"))]
    assert yahoo.calls[0].kwargs["interval"] == "5m"
    assert "60 days" in yahoo_provider.notes[0]
    assert list(bars["timestamp"]) == [ts("2024-06-20 13:30"), ts("2024-06-20 13:35"), ts("2024-06-20 13:40")]


def test_1m_chunks_stop_at_now(yahoo) -> None:
    yahoo.add("AAPL", "1m", "yahoo_AAPL_1m.csv")
    now = ts("2024-06-24 13:32:30")
    bars = provider(now=now).fetch(AAPL, TIMEFRAMES["1m"], ts("2024-06-20"), ts("2024-07-20"))
    assert [call.window for call in yahoo.calls] == [(ts("2024-06-20"), now + pd.Timedelta(minutes=1))]
    # 13:32 is still open at 13:32:30
    assert list(bars["timestamp"]) == [ts("2024-06-24 13:30"), ts("2024-06-24 13:31")]


def test_range_entirely_outside_the_lookback_is_invalid(yahoo) -> None:
    with pytest.raises(InvalidRequestError, match="last 30 days"):
        provider().fetch(AAPL, TIMEFRAMES["1m"], ts("2024-04-01"), ts("2024-04-10"))
    assert yahoo.calls == []


def test_a_failing_chunk_fails_the_whole_fetch(yahoo) -> None:
    yahoo.add("AAPL", "1m", "yahoo_AAPL_1m.csv")
    yahoo.script = [None, *[curl_errors.Timeout("timed out")] * 3]
    with pytest.raises(ProviderError):
        provider(max_retries=2).fetch(AAPL, TIMEFRAMES["1m"], ts("2024-06-10"), ts("2024-06-25"))
    assert len(yahoo.calls) == 4  # chunk 1 once, chunk 2 three times, chunk 3 never


def test_yahoo_range_refusal_is_invalid_request(yahoo) -> None:
    reason = (
        "1m data not available for startTime=1714521600 and endTime=1715126400. "
        "The requested range must be within the last 30 days."
    )
    yahoo.script = [yfe.YFPricesMissingError("AAPL", "", yahoo_reason=reason)]
    with pytest.raises(InvalidRequestError, match="within the last 30 days"):
        provider().fetch(AAPL, TIMEFRAMES["1m"], ts("2024-06-10"), ts("2024-06-11"))
    assert len(yahoo.calls) == 1


def test_4h_bars_are_aggregated_from_1h_in_utc_buckets(yahoo) -> None:
    spy = parse_symbol("SPY")
    yahoo.add("SPY", "1h", "yahoo_SPY_1h.csv")
    bars = provider().fetch(spy, TIMEFRAMES["4h"], ts("2024-06-03"), ts("2024-06-04"))

    assert [call.kwargs["interval"] for call in yahoo.calls] == ["1h"]
    assert [call.window for call in yahoo.calls] == [(ts("2024-06-03"), ts("2024-06-04"))]
    assert_canonical(bars, "SPY", "4h")
    assert list(bars["timestamp"]) == [ts("2024-06-03 12:00"), ts("2024-06-03 16:00")]
    # 13:30-15:30 UTC hours in the 12:00 bucket, 16:30-19:30 UTC in the 16:00 bucket
    assert bars[["open", "high", "low", "close", "volume"]].values.tolist() == [
        [529.02, 529.31, 522.6, 526.05, 16_800_000.0],
        [526.06, 528.2, 525.8, 527.8, 15_400_000.0],
    ]


def test_start_after_end_is_invalid(yahoo) -> None:
    with pytest.raises(InvalidRequestError, match="after end"):
        provider().fetch(AAPL, TIMEFRAMES["1d"], ts("2024-01-10"), ts("2024-01-02"))
    assert yahoo.calls == []


def test_empty_range_makes_no_request(yahoo) -> None:
    bars = provider().fetch(AAPL, TIMEFRAMES["1h"], ts("2024-06-03 12:00"), ts("2024-06-03 12:00"))
    assert bars.empty and list(bars.columns) == list(BAR_COLUMNS)
    assert yahoo.calls == []


def test_crypto_pair_uses_yahoo_dash_name(yahoo) -> None:
    yahoo.add("BTC-USD", "1d", "yahoo_AAPL_1d.csv")  # any recorded daily frame will do for the name
    bars = provider().fetch(parse_symbol("BTC/USD"), TIMEFRAMES["1d"], ts("2024-01-02"), ts("2024-01-04"))
    assert [call.ticker for call in yahoo.calls] == ["BTC-USD"]
    assert set(bars["symbol"].astype(str)) == {"BTC/USD"}
