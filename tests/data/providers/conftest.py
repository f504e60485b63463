"""Fixtures for the provider adapters: a network guard, and replays of recorded yfinance/ccxt payloads.

Only the library boundary is replaced: ``yfinance.Ticker.history`` and a real ccxt exchange's
``load_markets`` / ``fetch_ohlcv`` / ``milliseconds``. Everything above them is the production code.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import socket
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ccxt
import curl_cffi
import pandas as pd
import pytest
import yfinance as yf
from yfinance import exceptions as yfe

PAYLOADS = Path(__file__).parent / "payloads"


class NetworkAccessError(BaseException):
    """Raised on any network attempt; a BaseException so no library ``except Exception`` hides it."""


class ReplayMismatch(BaseException):
    """The code under test asked the replayed library for something that was not recorded."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail loudly on any socket connect, DNS lookup or libcurl transfer (yfinance uses curl_cffi)."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise NetworkAccessError(f"tests must not touch the network: {args[:2]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(curl_cffi.Curl, "perform", refuse)
    yield attempts
    assert not attempts, f"network access attempted: {attempts}"


# --- yfinance -------------------------------------------------------------------------------


def load_yahoo(name: str, tz: str) -> pd.DataFrame:
    """A recorded ``Ticker.history`` frame: exchange-tz index named Date/Datetime, Open..Volume."""
    raw = pd.read_csv(PAYLOADS / name)
    index_name = raw.columns[0]
    index = pd.DatetimeIndex(pd.to_datetime(raw.pop(index_name), utc=True)).tz_convert(tz).as_unit("ns")
    raw.index = index.rename(index_name)
    raw["Volume"] = raw["Volume"].astype("int64")
    return raw


@dataclass
class YahooCall:
    ticker: str
    kwargs: dict[str, Any]

    @property
    def window(self) -> tuple[Any, Any]:
        return self.kwargs["start"], self.kwargs["end"]


@dataclass
class RecordedYahoo:
    """Replays recorded frames the way yfinance 1.7 answers with ``hide_exceptions = False``."""

    payloads: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    calls: list[YahooCall] = field(default_factory=list)
    # Per call, in order: an exception to raise, or None to answer from the payloads.
    script: list[BaseException | None] = field(default_factory=list)

    def add(self, ticker: str, interval: str, file: str, tz: str = "America/New_York") -> None:
        self.payloads[(ticker, interval)] = load_yahoo(file, tz)

    def history(self, ticker: str, **kwargs: Any) -> pd.DataFrame:
        self.calls.append(YahooCall(ticker, dict(kwargs)))
        if self.script:
            action = self.script.pop(0)
            if action is not None:
                raise action
        if not any(t == ticker for t, _ in self.payloads):
            raise yfe.YFTzMissingError(ticker)  # Yahoo has no timezone for an unknown symbol
        interval, start, end = kwargs["interval"], kwargs["start"], kwargs["end"]
        frame = self.payloads.get((ticker, interval))
        if frame is None:
            raise ReplayMismatch(f"no recorded {interval} payload for {ticker}")
        if isinstance(start, dt.datetime):
            keep = (frame.index >= start) & (frame.index < end)
        else:  # dates: the exchange's calendar days
            days = frame.index.date
            keep = (days >= start) & (days < end)
        if not keep.any():
            raise yfe.YFPricesMissingError(ticker, f"({interval} {start} -> {end})")
        return frame.loc[keep].copy()


@pytest.fixture
def yahoo(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedYahoo]:
    """Replace ``yfinance.Ticker.history`` with the replay; restore yfinance's global config after."""
    recorded = RecordedYahoo()

    def history(self: yf.Ticker, *args: Any, **kwargs: Any) -> pd.DataFrame:
        if args:
            raise ReplayMismatch(f"history called with positional arguments {args!r}")
        return recorded.history(self.ticker, **kwargs)

    monkeypatch.setattr(yf.Ticker, "history", history)
    hide = yf.config.debug.hide_exceptions
    yield recorded
    yf.config.debug.hide_exceptions = hide


# --- ccxt -----------------------------------------------------------------------------------


def load_json(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@dataclass
class RecordedExchange:
    """Replays recorded ``load_markets`` / ``fetch_ohlcv`` answers; each page checks its request."""

    markets: dict[str, Any]
    pages: deque[dict[str, Any]] = field(default_factory=deque)
    since_calls: list[int | None] = field(default_factory=list)
    ohlcv_calls: list[dict[str, Any]] = field(default_factory=list)
    markets_calls: int = 0
    # Per call, in order: an exception to raise, or None to answer from the recording.
    ohlcv_script: list[BaseException | None] = field(default_factory=list)
    markets_script: list[BaseException | None] = field(default_factory=list)

    def use_pages(self, name: str) -> dict[str, Any]:
        recording: dict[str, Any] = load_json(name)
        self.pages = deque(recording["pages"])
        return recording

    def load_markets(self, exchange: Any, reload: bool = False, params: Any = None) -> dict[str, Any]:
        self.markets_calls += 1
        if self.markets_script and (action := self.markets_script.pop(0)) is not None:
            raise action
        loaded: dict[str, Any] = exchange.set_markets(copy.deepcopy(self.markets))
        return loaded

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: Any = None,
    ) -> list[list[Any]]:
        self.since_calls.append(since)
        self.ohlcv_calls.append({"symbol": symbol, "timeframe": timeframe, "since": since, "limit": limit})
        if self.ohlcv_script and (action := self.ohlcv_script.pop(0)) is not None:
            raise action
        if not self.pages:
            raise ReplayMismatch(f"no recorded page left for since={since}")
        page = self.pages.popleft()
        if (page["since"], page["limit"]) != (since, limit):
            raise ReplayMismatch(
                f"recorded since={page['since']} limit={page['limit']}, asked {since} {limit}"
            )
        return copy.deepcopy(page["candles"])


def install(exchange: Any, recorded: RecordedExchange, monkeypatch: pytest.MonkeyPatch) -> None:
    """Patch the network methods of one real ccxt exchange instance."""
    monkeypatch.setattr(exchange, "load_markets", lambda *a, **k: recorded.load_markets(exchange, *a, **k))
    monkeypatch.setattr(exchange, "fetch_ohlcv", recorded.fetch_ohlcv)


LATER_MS = 1719792000000  # 2024-07-01T00:00Z: every recorded candle is closed by then


@pytest.fixture
def recorded_binance() -> RecordedExchange:
    """A replay of binance's recorded markets (pages are chosen per test with ``use_pages``)."""
    return RecordedExchange(markets=load_json("ccxt_binance_markets.json"))


@pytest.fixture
def binance(
    monkeypatch: pytest.MonkeyPatch, recorded_binance: RecordedExchange
) -> tuple[Any, RecordedExchange]:
    """A real ``ccxt.binance`` (rate-limited) whose network methods replay the recordings."""
    exchange = ccxt.binance({"enableRateLimit": True})
    recorded = recorded_binance
    install(exchange, recorded, monkeypatch)
    monkeypatch.setattr(exchange, "milliseconds", lambda: LATER_MS)
    return exchange, recorded
