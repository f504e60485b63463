"""Yahoo Finance bars through yfinance: stocks, ETFs, indices (``^GSPC``) and forex (``EURUSD=X``).

Yahoo limits intraday history: 1m bars only for the last 30 days and at most 7 days per request;
2m-30m for 60 days; 1h for 730 days. Requests are split into chunks of those sizes, fetched in order,
and a start older than the lookback is clamped to it; the clamp is logged and kept in ``notes``.
4h is not a Yahoo interval: 1h bars are fetched and aggregated into UTC-aligned 4h buckets.

Daily, weekly and monthly bars are stamped 00:00 UTC of Yahoo's calendar date (the exchange-local
date, never shifted); intraday bars are converted to UTC. A bar still in progress at ``now`` (its
end after ``now``) is dropped, so incremental ingest never stores a partial bar.

Unknown symbol versus empty range. yfinance raises for both, so the exception type decides:

* ``YFTzMissingError`` -> ``UnknownSymbolError``. Every instrument Yahoo lists has an exchange
  timezone, which yfinance looks up before any ranged request; no timezone means Yahoo does not
  know the symbol. An HTTP 404 from Yahoo's symbol endpoints (yfinance's fallback lookup) means
  the same.
* ``YFPricesMissingError`` (raised only after the timezone lookup succeeded, so the symbol exists)
  -> an empty chunk: the window had no trading (weekend, holiday). Its message says "possibly
  delisted" even for a weekend, so the text is not used -- except Yahoo's explicit range errors
  (bad intraday window) -> ``InvalidRequestError``, and a 429/5xx status code -> retried.

yfinance swallows errors into its log unless told otherwise, including network failures during the
timezone lookup, which would then look like an unknown symbol. ``raise_errors=True`` on ``history``
is deprecated in yfinance 1.x and does not cover that lookup, so the provider sets yfinance's own
switch ``yfinance.config.debug.hide_exceptions = False`` (process-wide, idempotent) before fetching.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import yfinance as yf
from yfinance import exceptions as yfe

from pipelines.data.providers.base import with_retries
from pipelines.data.schema import empty_bars, to_canonical, with_labels
from pipelines.data.symbols import Symbol
from pipelines.data.timeframes import TIMEFRAMES, Timeframe
from pipelines.errors import InvalidRequestError, ProviderError, TradeforgeError, UnknownSymbolError

__all__ = ["YahooProvider"]

logger = logging.getLogger(__name__)

_DAY = pd.Timedelta(days=1)
# interval -> (lookback, largest request) for Yahoo's intraday intervals.
_INTRADAY_LIMITS: dict[str, tuple[pd.Timedelta, pd.Timedelta]] = {
    "1m": (30 * _DAY, 7 * _DAY),
    "2m": (60 * _DAY, 60 * _DAY),
    "5m": (60 * _DAY, 60 * _DAY),
    "15m": (60 * _DAY, 60 * _DAY),
    "30m": (60 * _DAY, 60 * _DAY),
    "1h": (730 * _DAY, 730 * _DAY),
}
# Start this much inside the lookback so clock skew with Yahoo cannot push a request outside it.
LOOKBACK_MARGIN = pd.Timedelta(minutes=10)
# Yahoo's explicit answers to a request outside its intraday limits.
_BAD_RANGE_RE = re.compile(r"not available for start|must be within the last|allowed to be fetched per", re.I)
_STATUS_RE = re.compile(r"status_code = (\d{3})")

Window = tuple[pd.Timestamp, pd.Timestamp]


def _utc(ts: pd.Timestamp | dt.datetime | str) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _http_status(exc: BaseException) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _is_transient(exc: BaseException) -> bool:
    """Rate limits, Yahoo outages (HTML instead of JSON, 5xx) and network errors are transient."""
    if isinstance(exc, yfe.YFRateLimitError | yfe.YFDataException | json.JSONDecodeError):
        return True
    if isinstance(exc, yfe.YFPricesMissingError):
        match = _STATUS_RE.search(str(getattr(exc, "debug_info", "")))
        return match is not None and (int(match.group(1)) >= 500 or int(match.group(1)) == 429)
    if isinstance(exc, OSError):  # requests' and curl_cffi's errors, timeouts, socket errors
        status = _http_status(exc)
        return status is None or status >= 500 or status == 429
    return False


def _bar_end(stamps: pd.Series, timeframe: Timeframe) -> pd.Series:
    if timeframe.name == "1mo":
        return stamps + pd.DateOffset(months=1)
    return stamps + pd.Timedelta(seconds=timeframe.seconds)


class YahooProvider:
    """Bars from Yahoo Finance. ``notes`` holds what the last ``fetch`` changed (e.g. a clamped start).

    ``max_retries`` transient failures are retried per request (so ``max_retries + 1`` attempts),
    with exponential ``backoff`` seconds; ``now`` is the clock (injectable for tests).
    """

    name = "yfinance"

    def __init__(
        self, *, max_retries: int = 4, backoff: float = 1.0, now: Callable[[], pd.Timestamp] | None = None
    ) -> None:
        if max_retries < 0 or backoff < 0:
            raise InvalidRequestError("max_retries and backoff must be >= 0")
        self.max_retries = max_retries
        self.backoff = backoff
        self._now = now or (lambda: pd.Timestamp.now(tz="UTC"))
        self.notes: list[str] = []

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        start, end = _utc(start), _utc(end)
        if start > end:
            raise InvalidRequestError(f"start {start} is after end {end}")
        self.notes = []
        now = _utc(self._now())
        source, windows = self._plan(symbol, timeframe, start, end, now) if start < end else (timeframe, [])
        bars = empty_bars()
        if windows:
            yf.config.debug.hide_exceptions = False  # see the module docstring
            ticker = yf.Ticker(_yahoo_ticker(symbol))
            raws = [self._history(ticker, symbol, source, window) for window in windows]
            parts = [
                _bars(raw, daily=not source.is_intraday) for raw in raws if raw is not None and not raw.empty
            ]
            if parts:
                bars = to_canonical(
                    pd.concat(parts), symbol=symbol.name, timeframe=source.name, source=self.name
                )
        if source != timeframe:
            bars = _aggregate(bars, timeframe)
        ends = _bar_end(bars["timestamp"], timeframe)
        keep = (bars["timestamp"] >= start) & (bars["timestamp"] < end) & (ends <= now)
        out = bars.loc[keep].reset_index(drop=True)
        return with_labels(out, symbol=symbol.name, timeframe=timeframe.name, source=self.name)

    def _plan(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp
    ) -> tuple[Timeframe, list[Window]]:
        """The timeframe to request from Yahoo and the (start, end) windows, oldest first."""
        first = timeframe.floor(start)
        if not timeframe.is_intraday:
            return timeframe, ([(first, end.ceil("D"))] if first <= now else [])
        source = TIMEFRAMES["1h"] if timeframe.name == "4h" else timeframe
        interval = source.yahoo_interval
        if interval not in _INTRADAY_LIMITS:
            raise InvalidRequestError(f"Yahoo has no {timeframe.name} bars")
        lookback, chunk = _INTRADAY_LIMITS[interval]
        last = min(end.ceil(timeframe.pandas_freq), now + pd.Timedelta(seconds=source.seconds))
        oldest = now - lookback + LOOKBACK_MARGIN
        if first < oldest:
            if last <= oldest:
                raise InvalidRequestError(
                    f"Yahoo serves {interval} bars only for the last {lookback.days} days (since {oldest}); "
                    f"the requested range {start} -> {end} is older"
                )
            note = (
                f"{symbol.name} {timeframe.name}: start {first} clamped to {oldest}, "
                f"Yahoo keeps {interval} bars for {lookback.days} days"
            )
            logger.warning(note)
            self.notes.append(note)
            first = oldest
        windows: list[Window] = []
        while first < last:
            windows.append((first, min(first + chunk, last)))
            first = windows[-1][1]
        return source, windows

    def _history(self, ticker: Any, symbol: Symbol, source: Timeframe, window: Window) -> pd.DataFrame | None:
        """One request, retried; ``None`` when Yahoo has no bars in the window."""
        first, last = window
        daily = not source.is_intraday
        kwargs: dict[str, Any] = {
            "interval": source.yahoo_interval,
            "start": first.date() if daily else first,
            "end": last.date() if daily else last,
            "auto_adjust": True,
            "actions": False,
            "prepost": False,
        }
        what = f"Yahoo {symbol.name} {source.yahoo_interval} {first} -> {last}"
        try:
            frame: pd.DataFrame = with_retries(
                lambda: ticker.history(**kwargs),
                transient=_is_transient,
                attempts=self.max_retries + 1,
                backoff=self.backoff,
                what=what,
            )
        except TradeforgeError:
            raise
        except yfe.YFTzMissingError as exc:
            raise UnknownSymbolError(f"Yahoo does not know the symbol {symbol.name!r} ({exc})") from exc
        except yfe.YFPricesMissingError as exc:
            if exc.yahoo_reason and _BAD_RANGE_RE.search(exc.yahoo_reason):
                raise InvalidRequestError(f"{what}: Yahoo refused the range: {exc.yahoo_reason}") from exc
            logger.debug("%s: no bars (%s)", what, exc)
            return None
        except yfe.YFTickerMissingError as exc:
            raise UnknownSymbolError(f"Yahoo does not know the symbol {symbol.name!r} ({exc})") from exc
        except yfe.YFInvalidPeriodError as exc:
            raise InvalidRequestError(f"{what}: {exc}") from exc
        except Exception as exc:
            if _http_status(exc) == 404:
                raise UnknownSymbolError(f"Yahoo does not know the symbol {symbol.name!r} ({exc})") from exc
            raise ProviderError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
        return frame


def _yahoo_ticker(symbol: Symbol) -> str:
    """Yahoo's name: stocks as given; a crypto pair ``BTC/USD`` is ``BTC-USD`` on Yahoo."""
    return symbol.name.replace("/", "-") if symbol.is_crypto else symbol.name


def _bars(raw: pd.DataFrame, *, daily: bool) -> pd.DataFrame:
    """yfinance's frame (exchange-tz index, Open..Volume columns) as timestamp + OHLCV columns."""
    index = pd.DatetimeIndex(raw.index)
    if index.tz is None:
        index = index.tz_localize("UTC")
    # Daily+ bars: keep Yahoo's (exchange-local) calendar date, stamped 00:00 UTC.
    stamps = index.tz_localize(None).normalize().tz_localize("UTC") if daily else index.tz_convert("UTC")
    columns = {str(c).lower(): c for c in raw.columns}
    missing = [c for c in ("open", "high", "low", "close") if c not in columns]
    if missing:
        raise ProviderError(f"yfinance returned no {', '.join(missing)} column(s): {list(raw.columns)}")
    out = pd.DataFrame({"timestamp": stamps})
    for col in ("open", "high", "low", "close"):
        out[col] = raw[columns[col]].to_numpy()
    out["volume"] = raw[columns["volume"]].to_numpy() if "volume" in columns else 0.0
    return out


def _aggregate(bars: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """Aggregate finer canonical bars into ``timeframe`` buckets aligned to UTC (labels set by the caller)."""
    if bars.empty:
        return bars
    grouped = bars.groupby(bars["timestamp"].dt.floor(timeframe.pandas_freq), sort=True)
    out = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    return out.rename_axis("timestamp").reset_index()
