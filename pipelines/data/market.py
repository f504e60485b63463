"""Market data for the API: a quote from the freshest stored bars, history by period and interval.

Both read the Parquet store. A series that is not stored yet is ingested first from the provider
configured for the symbol's asset class (``settings.data.stock_source`` /
``settings.data.crypto_source``), never from another source; a stored series is served as it is
(the ingest jobs keep it fresh).

``history`` speaks Yahoo's vocabulary. Periods count back from the end of the latest stored bar (so a
``1d`` period on a weekend still shows the last session); ``ytd`` starts on 1 January of that bar's
year. Intervals that are no stored timeframe are aggregated from a finer one (first open, max high,
min low, last close, summed volume): ``90m`` from 30m/15m/5m/2m/1m bars in buckets starting at a
stock's 09:30 New York open (UTC midnight for crypto), ``5d`` from daily bars in 5-day buckets counted
from 1970-01-01, ``3mo`` from daily bars in calendar quarters. Buckets are labelled by their start.
Intraday intervals cover at most what Yahoo serves: 1m 7 days, 1h (60m) 730 days, the others 60 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.data.ingest import ingest, open_store, plan_ingest
from pipelines.data.limits import latest_start
from pipelines.data.providers import Provider, get_provider, normalize_source
from pipelines.data.store import ParquetStore, SeriesBounds, SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import TIMEFRAMES, Timeframe, parse_timeframe
from pipelines.data.timeutil import parse_time, utc_now
from pipelines.errors import DataNotFoundError, InvalidRequestError, ProviderError, TradeforgeError
from pipelines.settings import Settings

__all__ = ["INTERVALS", "PERIODS", "ensure_stored", "history", "iso_utc", "quote", "source_for"]

PERIODS = ("1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max")
INTERVALS = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo")

_OFFSETS = {
    "1d": pd.DateOffset(days=1),
    "5d": pd.DateOffset(days=5),
    "1mo": pd.DateOffset(months=1),
    "3mo": pd.DateOffset(months=3),
    "6mo": pd.DateOffset(months=6),
    "1y": pd.DateOffset(years=1),
    "2y": pd.DateOffset(years=2),
    "5y": pd.DateOffset(years=5),
    "10y": pd.DateOffset(years=10),
}
# The longest span of each period in days, for the intraday limits (ytd: at most a year).
_PERIOD_DAYS = {"1d": 1, "5d": 5, "1mo": 31, "3mo": 92, "6mo": 184, "1y": 365, "2y": 730, "ytd": 366}
_INTRADAY_DAYS = {"1m": 7, "2m": 60, "5m": 60, "15m": 60, "30m": 60, "90m": 60, "1h": 730}
_NINETY_BASES = ("30m", "15m", "5m", "2m", "1m")  # finer timeframes that tile 90 minutes
_QUOTE_LOOKBACK = pd.Timedelta(days=14)  # enough to find the previous session across holidays
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class _Interval:
    name: str  # as requested (60m stays 60m)
    bases: tuple[str, ...]  # stored timeframes it can be read or aggregated from, preferred first
    resample: str | None  # "90m", "5d" or "3mo"; None when a stored timeframe is served as it is
    max_days: int | None  # the longest period it may cover (intraday only)


def _interval(name: str) -> _Interval:
    if name not in INTERVALS:
        raise InvalidRequestError(f"unknown interval {name!r}; valid intervals: {', '.join(INTERVALS)}")
    native = "1h" if name == "60m" else name
    if native == "90m":
        return _Interval(name, _NINETY_BASES, "90m", _INTRADAY_DAYS["90m"])
    if native in ("5d", "3mo"):
        return _Interval(name, ("1d",), native, None)
    return _Interval(name, (native,), None, _INTRADAY_DAYS.get(native))


def iso_utc(ts: pd.Timestamp | int) -> str:
    """``2024-07-10T15:30:00Z`` for a UTC timestamp (or epoch nanoseconds)."""
    stamp = pd.Timestamp(ts, tz="UTC") if isinstance(ts, int) else pd.Timestamp(ts).tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def source_for(settings: Settings, symbol: Symbol) -> str:
    """The source configured for the symbol's asset class."""
    return normalize_source(settings.data.crypto_source if symbol.is_crypto else settings.data.stock_source)


class _Recording:
    """Passes fetches through to a provider and keeps the error it raised (ingest reports only text)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.name = provider.name
        self.error: TradeforgeError | None = None

    def fetch(self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        try:
            return self.provider.fetch(symbol, timeframe, start, end)
        except TradeforgeError as exc:
            self.error = exc
            raise


def ensure_stored(
    settings: Settings,
    symbol: str | Symbol,
    timeframe: str | Timeframe,
    *,
    start: pd.Timestamp | None = None,
    store: ParquetStore | None = None,
    provider: Provider | None = None,
    source: str | None = None,
) -> SeriesBounds:
    """The bounds of the stored series of ``symbol`` at ``timeframe`` from ``source`` (default: the
    source configured for its asset class).

    When nothing is stored it is ingested first, from ``start`` (default ``settings.data.history_start``,
    moved later when the range would hold more than ``max_bars_per_request`` bars) to now. A malformed
    symbol raises InvalidSymbolError; one the provider does not know, the provider's
    UnknownSymbolError; a provider failure, its ProviderError.
    """
    sym = symbol if isinstance(symbol, Symbol) else parse_symbol(symbol)
    tf = parse_timeframe(timeframe)
    source = normalize_source(source) if source is not None else source_for(settings, sym)
    store = store or open_store(settings)
    key = SeriesKey(source, tf.name, sym.name)
    bounds = store.bounds(key)
    if bounds is not None:
        return bounds
    now = utc_now()
    first = parse_time(start if start is not None else settings.data.history_start, name="history_start")
    first = max(first, latest_start(settings, tf, now, crypto=sym.is_crypto))
    plan = plan_ingest(settings, source=source, symbols=[sym.name], timeframe=tf.name, start=first, end=now)
    recording = _Recording(provider or get_provider(source, settings))
    report = ingest(settings, plan, provider=recording)
    if report.failed:
        if recording.error is not None:
            raise recording.error
        raise ProviderError(
            f"could not ingest {tf.name} bars of {sym.name} from {source}: {report.failed[0].error}"
        )
    bounds = store.bounds(key)
    if bounds is None:
        raise DataNotFoundError(
            f"source {source!r} has no {tf.name} bars of {sym.name} since {plan.start.date().isoformat()}"
        )
    return bounds


def _bar_end(last: pd.Timestamp, tf: Timeframe) -> pd.Timestamp:
    return last + pd.offsets.MonthBegin(1) if tf.name == "1mo" else last + pd.Timedelta(seconds=tf.seconds)


def _rounded(value: float) -> float:
    """12 significant digits: drops the float noise of a subtraction (2.5000000000000284)."""
    return float(f"{value:.12g}")


def quote(settings: Settings, symbol: str) -> dict[str, Any]:
    """The latest price of ``symbol`` and its change against the previous daily close.

    The price is the close of the latest stored bar over every stored timeframe (the finer one on a
    tie); ``volume`` is that bar's day's volume (the sum of the day's bars when they are intraday).
    Nothing stored: daily bars are ingested first (see ``ensure_stored``).
    """
    sym = parse_symbol(symbol)
    source = source_for(settings, sym)
    store = open_store(settings)
    stored = [b for tf in TIMEFRAMES if (b := store.bounds(SeriesKey(source, tf, sym.name))) is not None]
    if not stored:
        stored = [ensure_stored(settings, sym, "1d", store=store)]
    best = max(stored, key=lambda b: (b.last, -TIMEFRAMES[b.key.timeframe].seconds))
    tf = TIMEFRAMES[best.key.timeframe]
    lookback = _QUOTE_LOOKBACK if tf.is_intraday or tf.name == "1d" else pd.Timedelta(days=200)
    bars = store.read(best.key, best.last - lookback)
    ts = bars["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    close = bars["close"].to_numpy(dtype=np.float64)
    volume = bars["volume"].to_numpy(dtype=np.float64)
    if tf.is_intraday:
        day_start = ts[-1] - ts[-1] % _NS_PER_DAY
        today = ts >= day_start
        before = np.flatnonzero(~today)
        previous = float(close[before[-1]]) if before.size else None
        day_volume = float(volume[today].sum())
    else:
        previous = float(close[-2]) if len(close) >= 2 else None
        day_volume = float(volume[-1])
    price = float(close[-1])
    change = None if previous is None else _rounded(price - previous)
    change_percent = None if previous is None or previous == 0 else _rounded((price / previous - 1.0) * 100.0)
    return {
        "symbol": sym.name,
        "price": price,
        "change": change,
        "change_percent": change_percent,
        "volume": day_volume,
        "timestamp": iso_utc(int(ts[-1])),
        "previous_close": previous,
        "source": source,
        "timeframe": tf.name,
    }


def _check_span(period: str, interval: _Interval) -> None:
    if interval.max_days is None:
        return
    days = _PERIOD_DAYS.get(period)
    if days is None or days > interval.max_days:
        allowed = [p for p, d in _PERIOD_DAYS.items() if d <= interval.max_days]
        raise InvalidRequestError(
            f"interval {interval.name} covers at most {interval.max_days} days, too little for period "
            f"{period!r}; with {interval.name} use period {', '.join(allowed)}, or a longer interval"
        )


def _base(store: ParquetStore, source: str, sym: Symbol, interval: _Interval) -> Timeframe:
    """The stored timeframe to read: the first of the interval's bases that is stored, else the first."""
    for name in interval.bases:
        if store.bounds(SeriesKey(source, name, sym.name)) is not None:
            return TIMEFRAMES[name]
    return TIMEFRAMES[interval.bases[0]]


def _buckets(ts: pd.DatetimeIndex, rule: str, stock: bool) -> np.ndarray:
    """The start (epoch ns) of the ``rule`` bucket of each timestamp; see the module docstring."""
    ts = ts.as_unit("ns")
    if rule == "3mo":
        quarters = ts.tz_localize(None).to_period("Q").start_time
        return np.asarray(quarters.as_unit("ns").tz_localize("UTC").asi8)
    if rule == "5d":
        width = 5 * _NS_PER_DAY
        return np.asarray(ts.asi8 - ts.asi8 % width)
    width = 90 * 60 * 10**9
    if not stock:
        return np.asarray(ts.asi8 - ts.asi8 % width)
    local = ts.tz_convert("America/New_York").tz_localize(None)
    open_ = local.normalize() + pd.Timedelta(hours=9, minutes=30)
    offset = (local - open_).asi8
    start = open_ + pd.to_timedelta(offset - offset % width)
    return np.asarray(start.tz_localize("America/New_York").tz_convert("UTC").as_unit("ns").asi8)


def _resample(bars: pd.DataFrame, rule: str, stock: bool) -> pd.DataFrame:
    key = _buckets(pd.DatetimeIndex(bars["timestamp"]), rule, stock)
    grouped = bars[["open", "high", "low", "close", "volume"]].groupby(key, sort=True)
    out = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    out.insert(0, "timestamp", pd.DatetimeIndex(out.index.to_numpy(dtype=np.int64), tz="UTC"))
    return out.reset_index(drop=True)


def history(settings: Settings, symbol: str, period: str = "1mo", interval: str = "1d") -> dict[str, Any]:
    """Bars of ``symbol`` over ``period`` at ``interval`` (see the module docstring)."""
    sym = parse_symbol(symbol)
    if period not in PERIODS:
        raise InvalidRequestError(f"unknown period {period!r}; valid periods: {', '.join(PERIODS)}")
    spec = _interval(interval)
    _check_span(period, spec)
    source = source_for(settings, sym)
    store = open_store(settings)
    base = _base(store, source, sym, spec)
    ingest_from = utc_now() - pd.Timedelta(days=spec.max_days) if spec.max_days is not None else None
    bounds = ensure_stored(settings, sym, base, start=ingest_from, store=store)
    end = _bar_end(bounds.last, base)
    if period == "max":
        start = None
    elif period == "ytd":
        start = pd.Timestamp(year=bounds.last.year, month=1, day=1, tz="UTC")
    else:
        start = end - _OFFSETS[period]
    bars = store.read(bounds.key, start)
    if spec.resample is not None and not bars.empty:
        bars = _resample(bars, spec.resample, stock=not sym.is_crypto)
    stamps = pd.DatetimeIndex(bars["timestamp"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    columns = {
        c: bars[c].to_numpy(dtype=np.float64).tolist() for c in ("open", "high", "low", "close", "volume")
    }
    rows = [
        {"timestamp": t, "open": o, "high": h, "low": lo, "close": c, "volume": v}
        for t, o, h, lo, c, v in zip(
            stamps,
            columns["open"],
            columns["high"],
            columns["low"],
            columns["close"],
            columns["volume"],
            strict=True,
        )
    ]
    return {
        "symbol": sym.name,
        "period": period,
        "interval": interval,
        "source": source,
        "timeframe": base.name,
        "resampled": spec.resample is not None,
        "start": rows[0]["timestamp"] if rows else None,
        "end": rows[-1]["timestamp"] if rows else None,
        "count": len(rows),
        "bars": rows,
    }
