"""Crypto bars from any ccxt exchange (``binance`` by default), paginated over ``fetch_ohlcv``.

Pages are requested with ``since`` (ms) and the exchange's page ``limit``; ``since`` then moves just
past the last candle returned. Paging stops once the next candle would start at or after ``end``, on
an empty page, or when a page makes no progress, so an exchange with nothing more to give is never
polled in a loop. Requests go through ccxt's own throttle (``enableRateLimit``).

ccxt's ``NetworkError`` family (RequestTimeout, ExchangeNotAvailable, DDoSProtection,
RateLimitExceeded, ...) is retried with backoff; other ccxt errors are not: ``BadSymbol`` becomes
``UnknownSymbolError``, the rest ``ProviderError``. Any failure fails the whole fetch. The candle
still open at the exchange's clock (``exchange.milliseconds()``) is dropped.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable
from functools import partial
from typing import Any

import ccxt
import pandas as pd

from pipelines.data.providers.base import with_retries
from pipelines.data.schema import empty_bars, to_canonical, with_labels
from pipelines.data.symbols import Symbol
from pipelines.data.timeframes import Timeframe
from pipelines.errors import InvalidRequestError, ProviderError, TradeforgeError, UnknownSymbolError

__all__ = ["DEFAULT_PAGE_LIMIT", "CcxtProvider"]

# Page size when the exchange does not declare one in ``exchange.features``.
DEFAULT_PAGE_LIMIT = 1000
_OHLCV_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]


def _utc(ts: pd.Timestamp | dt.datetime | str) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, ccxt.NetworkError)


def _min_step_ms(timeframe: Timeframe) -> int:
    """The shortest distance between two candle starts (a month can be 28 days)."""
    return (28 * 86_400 if timeframe.name == "1mo" else timeframe.seconds) * 1000


class CcxtProvider:
    """Bars from the ccxt exchange ``exchange_id``; ``exchange`` injects a ready instance instead.

    The exchange is created on first use with ``{"enableRateLimit": True}`` and its markets loaded
    once. ``max_retries`` transient failures are retried per request (``max_retries + 1`` attempts).
    """

    name = "ccxt"

    def __init__(
        self,
        exchange_id: str = "binance",
        *,
        max_retries: int = 4,
        backoff: float = 1.0,
        exchange: Any | None = None,
    ) -> None:
        if exchange_id not in ccxt.exchanges:
            close = difflib.get_close_matches(exchange_id, ccxt.exchanges, n=5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InvalidRequestError(
                f"unknown exchange {exchange_id!r}: not in ccxt.exchanges ({len(ccxt.exchanges)} ids){hint}"
            )
        if exchange is not None and getattr(exchange, "id", exchange_id) != exchange_id:
            raise InvalidRequestError(f"exchange instance is {exchange.id!r}, not {exchange_id!r}")
        if max_retries < 0 or backoff < 0:
            raise InvalidRequestError("max_retries and backoff must be >= 0")
        self.exchange_id = exchange_id
        self.max_retries = max_retries
        self.backoff = backoff
        self._exchange = exchange
        self._markets: dict[str, Any] | None = None

    @property
    def exchange(self) -> Any:
        """The ccxt exchange instance, created on first use."""
        if self._exchange is None:
            self._exchange = getattr(ccxt, self.exchange_id)({"enableRateLimit": True})
        return self._exchange

    def markets(self) -> dict[str, Any]:
        """The exchange's markets, loaded once (retried like every request)."""
        if self._markets is None:
            loaded = self._call(self.exchange.load_markets, what=f"ccxt {self.exchange_id} load_markets")
            self._markets = dict(loaded or self.exchange.markets or {})
        return self._markets

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        start, end = _utc(start), _utc(end)
        if start > end:
            raise InvalidRequestError(f"start {start} is after end {end}")
        exchange = self.exchange
        timeframes = dict(getattr(exchange, "timeframes", None) or {})
        if timeframe.ccxt_timeframe not in timeframes:
            offered = ", ".join(timeframes)
            raise InvalidRequestError(
                f"{self.exchange_id} has no {timeframe.name} candles; it offers {offered}"
            )
        if not exchange.has.get("fetchOHLCV"):
            raise InvalidRequestError(f"{self.exchange_id} does not serve OHLCV candles")
        market = self.markets().get(symbol.name)
        if market is None:
            raise UnknownSymbolError(f"{self.exchange_id} has no market {symbol.name!r}")
        bars = empty_bars()
        if start < end:
            limit = _page_limit(exchange, market)
            candles = self._paginate(symbol.name, timeframe, _ms(start), _ms(end), limit)
            if candles:
                frame = pd.DataFrame(candles, columns=_OHLCV_COLUMNS)
                frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
                bars = to_canonical(frame, symbol=symbol.name, timeframe=timeframe.name, source=self.name)
        now = pd.Timestamp(int(exchange.milliseconds()), unit="ms", tz="UTC")
        out = _drop_open(bars, timeframe, now=now)
        return with_labels(out, symbol=symbol.name, timeframe=timeframe.name, source=self.name)

    def _paginate(
        self, name: str, timeframe: Timeframe, start_ms: int, end_ms: int, limit: int
    ) -> list[list[Any]]:
        """Every candle with ``start_ms <= ts < end_ms``, keyed by timestamp so pages never duplicate."""
        candles: dict[int, list[Any]] = {}
        since = start_ms
        step = _min_step_ms(timeframe)
        tf = timeframe.ccxt_timeframe
        while since < end_ms:
            page = self._call(
                partial(self.exchange.fetch_ohlcv, name, tf, since=since, limit=limit),
                what=f"ccxt {self.exchange_id} fetch_ohlcv {name} {tf} since={since}",
            )
            if not page:
                break
            last = max(int(row[0]) for row in page)
            for row in page:
                if start_ms <= int(row[0]) < end_ms:
                    candles[int(row[0])] = [int(row[0]), *row[1:6]]
            if last < since or last + step >= end_ms:
                break
            since = last + 1
        return [candles[ts] for ts in sorted(candles)]

    def _call(self, call: Callable[[], Any], *, what: str) -> Any:
        try:
            return with_retries(
                call, transient=_is_transient, attempts=self.max_retries + 1, backoff=self.backoff, what=what
            )
        except TradeforgeError:
            raise
        except ccxt.BadSymbol as exc:
            raise UnknownSymbolError(f"{what}: {self.exchange_id} does not know the symbol: {exc}") from exc
        except Exception as exc:
            raise ProviderError(f"{what} failed: {type(exc).__name__}: {exc}") from exc


def _page_limit(exchange: Any, market: dict[str, Any]) -> int:
    """The most candles one ``fetch_ohlcv`` returns for this market, from ccxt's ``features``."""
    features = getattr(exchange, "features", None) or {}
    section = features.get(market.get("type") or "spot") or {}
    if "fetchOHLCV" not in section:
        section = section.get("inverse" if market.get("inverse") else "linear") or {}
    limit = (section.get("fetchOHLCV") or {}).get("limit")
    return int(limit) if isinstance(limit, int | float) and limit > 0 else DEFAULT_PAGE_LIMIT


def _drop_open(bars: pd.DataFrame, timeframe: Timeframe, *, now: pd.Timestamp) -> pd.DataFrame:
    """Bars whose close time is not after ``now`` (the still-open last candle goes)."""
    stamps = bars["timestamp"]
    if timeframe.name == "1mo":
        ends = stamps + pd.DateOffset(months=1)
    else:
        ends = stamps + pd.Timedelta(seconds=timeframe.seconds)
    return bars.loc[ends <= now].reset_index(drop=True)
