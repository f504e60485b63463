"""CcxtProvider against a real ccxt exchange whose network methods replay recorded payloads."""

from __future__ import annotations

from typing import Any

import ccxt
import pandas as pd
import pytest

from pipelines.data.providers.base import Provider
from pipelines.data.providers.ccxt_provider import DEFAULT_PAGE_LIMIT, CcxtProvider
from pipelines.data.schema import BAR_COLUMNS
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import TIMEFRAMES
from pipelines.errors import InvalidRequestError, ProviderError, UnknownSymbolError

BTC = parse_symbol("BTC/USDT")
HOUR_MS = 3_600_000
T0_MS = 1717200000000  # 2024-06-01T00:00Z
LATER_MS = 1719792000000  # 2024-07-01T00:00Z


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def provider(exchange: Any, max_retries: int = 2) -> CcxtProvider:
    return CcxtProvider("binance", max_retries=max_retries, backoff=0, exchange=exchange)


def test_provider_protocol_and_lazy_rate_limited_exchange(
    monkeypatch: pytest.MonkeyPatch, recorded_binance
) -> None:
    recorded = recorded_binance
    recorded.use_pages("ccxt_binance_BTCUSDT_1h_live.json")
    # patch the real exchange class: the provider builds its own instance
    monkeypatch.setattr(
        ccxt.binance, "load_markets", lambda self, *a, **k: recorded.load_markets(self, *a, **k)
    )
    monkeypatch.setattr(ccxt.binance, "fetch_ohlcv", lambda self, *a, **k: recorded.fetch_ohlcv(*a, **k))
    monkeypatch.setattr(ccxt.binance, "milliseconds", lambda self: LATER_MS)
    # the recording was made with a page limit of 1000, binance's declared spot limit
    assert DEFAULT_PAGE_LIMIT == 1000

    ccxt_provider = CcxtProvider(max_retries=0, backoff=0)
    assert isinstance(ccxt_provider, Provider)
    assert (ccxt_provider.name, ccxt_provider.exchange_id) == ("ccxt", "binance")
    assert recorded.markets_calls == 0  # nothing is created or loaded before the first fetch

    bars = ccxt_provider.fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 08:00"), ts("2024-06-01 12:00"))
    assert isinstance(ccxt_provider.exchange, ccxt.binance)
    assert ccxt_provider.exchange.enableRateLimit is True
    assert recorded.markets_calls == 1
    assert [c["limit"] for c in recorded.ohlcv_calls] == [1000, 1000]
    assert len(bars) == 3


def test_pages_are_stitched_without_duplicates(binance, monkeypatch: pytest.MonkeyPatch) -> None:
    exchange, recorded = binance
    monkeypatch.setitem(exchange.features["spot"]["fetchOHLCV"], "limit", 5)  # as the pages were recorded
    recorded.use_pages("ccxt_binance_BTCUSDT_1h_pages.json")
    bars = provider(exchange).fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 00:00"), ts("2024-06-01 13:00"))

    # since starts at `start`, then moves just past the last candle of each page; the 12:00 candle
    # is the last one before `end`, so no fourth page is asked for
    assert recorded.since_calls == [T0_MS, T0_MS + 4 * HOUR_MS + 1, T0_MS + 8 * HOUR_MS + 1]
    assert [c["limit"] for c in recorded.ohlcv_calls] == [5, 5, 5]
    assert {(c["symbol"], c["timeframe"]) for c in recorded.ohlcv_calls} == {("BTC/USDT", "1h")}
    assert list(bars["timestamp"]) == list(pd.date_range("2024-06-01", periods=13, freq="1h", tz="UTC"))
    # the overlapping 04:00 candle appears once, with the later page's values
    assert bars.loc[bars["timestamp"] == ts("2024-06-01 04:00"), "volume"].tolist() == [999.125]
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert str(bars["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert all(bars[c].dtype == "float64" for c in ("open", "high", "low", "close", "volume"))
    assert set(bars["source"].astype(str)) == {"ccxt"}
    assert set(bars["symbol"].astype(str)) == {"BTC/USDT"}
    assert set(bars["timeframe"].astype(str)) == {"1h"}
    assert bars["close"].iloc[0] == 67540.01


def test_open_candle_is_dropped_and_empty_page_stops(binance, monkeypatch: pytest.MonkeyPatch) -> None:
    exchange, recorded = binance
    recording = recorded.use_pages("ccxt_binance_BTCUSDT_1h_live.json")
    monkeypatch.setattr(exchange, "milliseconds", lambda: recording["now_ms"])  # 10:30, mid-candle
    bars = provider(exchange).fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 08:00"), ts("2024-06-01 12:00"))

    assert list(bars["timestamp"]) == [ts("2024-06-01 08:00"), ts("2024-06-01 09:00")]
    assert recorded.since_calls == [T0_MS + 8 * HOUR_MS, T0_MS + 10 * HOUR_MS + 1]
    assert not recorded.pages  # stopped on the empty page, no further polling


def test_no_progress_stops_paging(binance) -> None:
    exchange, recorded = binance
    recorded.use_pages("ccxt_binance_BTCUSDT_1h_live.json")
    # an exchange that rounds `since` down answers the open candle again: no progress, stop
    recorded.pages[1]["candles"] = [[T0_MS + 10 * HOUR_MS, 67812.6, 67840.0, 67790.0, 67815.5, 87.3125]]
    bars = provider(exchange).fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 08:00"), ts("2024-06-01 12:00"))
    assert len(recorded.since_calls) == 2
    assert len(bars) == 3


def test_transient_error_is_retried_then_succeeds(binance) -> None:
    exchange, recorded = binance
    recorded.use_pages("ccxt_binance_BTCUSDT_1h_live.json")
    recorded.ohlcv_script = [
        ccxt.RequestTimeout("binance GET https://api.binance.com/api/v3/klines timed out")
    ]
    bars = provider(exchange).fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 08:00"), ts("2024-06-01 12:00"))
    assert recorded.since_calls == [T0_MS + 8 * HOUR_MS, T0_MS + 8 * HOUR_MS, T0_MS + 10 * HOUR_MS + 1]
    assert len(bars) == 3


def test_markets_load_is_retried_and_happens_once(binance) -> None:
    exchange, recorded = binance
    recorded.markets_script = [ccxt.ExchangeNotAvailable("binance 503 Service Unavailable")]
    ccxt_provider = provider(exchange)
    for _ in range(2):
        recorded.use_pages("ccxt_binance_BTCUSDT_1h_live.json")
        ccxt_provider.fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 08:00"), ts("2024-06-01 12:00"))
    assert recorded.markets_calls == 2  # one failure, one success, then cached


@pytest.mark.parametrize(
    "error", [ccxt.DDoSProtection("418"), ccxt.RateLimitExceeded("429 Too Many Requests")]
)
def test_retries_exhausted_raise_provider_error(binance, error: Exception) -> None:
    exchange, recorded = binance
    recorded.use_pages("ccxt_binance_BTCUSDT_1h_live.json")
    recorded.ohlcv_script = [error] * 10
    with pytest.raises(ProviderError, match="after 3 attempts"):
        provider(exchange, max_retries=2).fetch(
            BTC, TIMEFRAMES["1h"], ts("2024-06-01 08:00"), ts("2024-06-01 12:00")
        )
    assert len(recorded.since_calls) == 3


def test_exchange_error_is_not_retried_and_nothing_partial(binance, monkeypatch: pytest.MonkeyPatch) -> None:
    exchange, recorded = binance
    monkeypatch.setitem(exchange.features["spot"]["fetchOHLCV"], "limit", 5)
    recorded.use_pages("ccxt_binance_BTCUSDT_1h_pages.json")
    recorded.ohlcv_script = [None, ccxt.ExchangeError('binance {"code":-1003,"msg":"Internal error"}')]
    with pytest.raises(ProviderError, match="Internal error"):
        provider(exchange).fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 00:00"), ts("2024-06-01 12:00"))
    assert len(recorded.since_calls) == 2


def test_bad_symbol_from_the_exchange_is_unknown_symbol_without_retry(binance) -> None:
    exchange, recorded = binance
    recorded.ohlcv_script = [ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}')]
    with pytest.raises(UnknownSymbolError, match="Invalid symbol"):
        provider(exchange).fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01 08:00"), ts("2024-06-01 12:00"))
    assert len(recorded.since_calls) == 1


def test_symbol_not_in_markets_is_unknown(binance) -> None:
    exchange, recorded = binance
    with pytest.raises(UnknownSymbolError, match="DOGE/EUR"):
        provider(exchange).fetch(
            parse_symbol("DOGE/EUR"), TIMEFRAMES["1h"], ts("2024-06-01"), ts("2024-06-02")
        )
    assert recorded.since_calls == []
    assert recorded.markets_calls == 1


def test_timeframe_the_exchange_lacks_is_invalid(binance) -> None:
    exchange, recorded = binance
    with pytest.raises(InvalidRequestError, match=r"no 2m candles; it offers 1s, 1m, 3m") as info:
        provider(exchange).fetch(BTC, TIMEFRAMES["2m"], ts("2024-06-01"), ts("2024-06-02"))
    assert "1M" in str(info.value)
    assert recorded.since_calls == []
    assert recorded.markets_calls == 0  # checked before anything touches the exchange


def test_unknown_exchange_id_is_invalid() -> None:
    with pytest.raises(InvalidRequestError, match=r"not in ccxt.exchanges.*binance"):
        CcxtProvider("binanse")


def test_injected_exchange_must_match_the_id(binance) -> None:
    exchange, _ = binance
    with pytest.raises(InvalidRequestError, match="'binance', not 'kraken'"):
        CcxtProvider("kraken", exchange=exchange)


def test_empty_range_makes_no_request(binance) -> None:
    exchange, recorded = binance
    bars = provider(exchange).fetch(BTC, TIMEFRAMES["1h"], ts("2024-06-01"), ts("2024-06-01"))
    assert bars.empty and list(bars.columns) == list(BAR_COLUMNS)
    assert recorded.since_calls == []
