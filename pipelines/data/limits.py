"""How much work a request may cause, known before anything is fetched, stored or computed.

A request's bar count is estimated from its timeframe and date range as an upper bound: crypto trades
24/7; stocks trade on weekdays only (holidays are not subtracted) in sessions of 6.5 hours, so an
intraday stock day holds ``ceil(23400 / bar seconds)`` bars. Weekly and monthly bars count 7 and 28
days each. The limits themselves are settings (``max_bars_per_request``, ...).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.timeutil import EARLIEST_YEAR, parse_time, utc_now
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = [
    "check_bar_count",
    "check_bar_span",
    "days_for_bars",
    "estimate_bars",
    "feature_history_start",
    "latest_start",
    "request_span",
]

_DAY = 86_400.0
_SESSION_SECONDS = 23_400
_COARSER = ("1m", "5m", "15m", "1h", "4h", "1d", "1wk")


def _bars_per_day(tf: Timeframe, *, crypto: bool) -> float:
    if tf.name == "1wk":
        return 1 / 7
    if tf.name == "1mo":
        return 1 / 28
    if crypto:
        return _DAY / tf.seconds
    if tf.name == "1d":
        return 5 / 7
    return 5 / 7 * math.ceil(_SESSION_SECONDS / tf.seconds)


def estimate_bars(timeframe: str | Timeframe, start: pd.Timestamp, end: pd.Timestamp, *, crypto: bool) -> int:
    """At most how many bars of ``timeframe`` lie in [start, end) (see the module docstring)."""
    tf = parse_timeframe(timeframe)
    days = max(0.0, (end - start).total_seconds() / _DAY)
    return math.ceil(days * _bars_per_day(tf, crypto=crypto)) + 2


def days_for_bars(timeframe: str | Timeframe, bars: int, *, crypto: bool) -> int:
    """About how many calendar days hold ``bars`` bars of ``timeframe`` (weekends and, for stocks,
    the hours outside the session included)."""
    return math.ceil(bars / _bars_per_day(parse_timeframe(timeframe), crypto=crypto))


def latest_start(
    settings: Settings, timeframe: str | Timeframe, end: pd.Timestamp, *, crypto: bool
) -> pd.Timestamp:
    """The earliest start from which [start, end) holds at most ``max_bars_per_request`` bars."""
    tf = parse_timeframe(timeframe)
    days = (settings.limits.max_bars_per_request - 2) / _bars_per_day(tf, crypto=crypto)
    earliest = pd.Timestamp(year=EARLIEST_YEAR, month=1, day=1, tz="UTC")
    if days >= (end - earliest).days:
        return earliest
    return end - pd.Timedelta(days=days)


def feature_history_start(
    settings: Settings, timeframe: str | Timeframe, last: pd.Timestamp, *, crypto: bool
) -> pd.Timestamp:
    """Where the features of a series ending at ``last`` start: ``history_start`` (the bars a
    training run reads by default), later only when that span would exceed ``max_bars_per_request``."""
    start = parse_time(settings.data.history_start, name="history_start")
    return max(start, latest_start(settings, timeframe, last, crypto=crypto))


def _advice(tf: Timeframe, start: pd.Timestamp, end: pd.Timestamp, limit: int, crypto: bool) -> str:
    fits = [
        name
        for name in _COARSER
        if parse_timeframe(name).seconds > tf.seconds
        and estimate_bars(name, start, end, crypto=crypto) <= limit
    ]
    days = int(limit / _bars_per_day(tf, crypto=crypto))
    coarser = f", or a coarser timeframe ({fits[0]} fits this range)" if fits else ""
    return f"shorten the range to at most {days} days at {tf.name}{coarser}"


def check_bar_span(
    settings: Settings,
    timeframe: str | Timeframe,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    crypto: bool,
    extra: int = 0,
    names: tuple[str, str] = ("start_date", "end_date"),
) -> int:
    """The estimated bars of [start, end) plus ``extra`` (warm-up bars); an InvalidRequestError naming
    ``max_bars_per_request`` and how to fit it when that is over the limit (``names``: what the
    request calls its start and end)."""
    tf = parse_timeframe(timeframe)
    bars = estimate_bars(tf, start, end, crypto=crypto) + extra
    limit = settings.limits.max_bars_per_request
    if bars > limit:
        raise InvalidRequestError(
            f"{names[0]} {start.date()} to {names[1]} {end.date()} at timeframe {tf.name} is about "
            f"{bars:,} bars, over the limit of {limit:,} bars per request (max_bars_per_request); "
            + _advice(tf, start, end, limit - extra, crypto)
        )
    return bars


def check_bar_count(settings: Settings, rows: int, what: str) -> None:
    """A read that is already bounded by its source (a user's file) still holds at most the limit."""
    limit = settings.limits.max_bars_per_request
    if rows > limit:
        raise InvalidRequestError(
            f"{what} holds {rows:,} bars in the requested range, over the limit of {limit:,} bars per "
            "request (max_bars_per_request); give start_date/end_date for a shorter range"
        )


def request_span(
    settings: Settings,
    start: Any,
    end: Any,
    *,
    default_start: str,
    timeframe: str | Timeframe,
    crypto: bool,
    extra: int = 0,
    bounded: bool = True,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A request's ``start_date`` and ``end_date`` (default: ``default_start`` and now), checked: real
    dates, start before end and, when ``bounded``, at most ``max_bars_per_request`` bars (see
    ``check_bar_span``; ``extra`` warm-up bars included)."""
    start_ts = parse_time(start if start is not None else default_start, name="start_date")
    end_ts = parse_time(end, name="end_date") if end is not None else utc_now()
    if start_ts >= end_ts:
        raise InvalidRequestError(f"start_date {start_ts.date()} must be before end_date {end_ts.date()}")
    if bounded:
        check_bar_span(settings, timeframe, start_ts, end_ts, crypto=crypto, extra=extra)
    return start_ts, end_ts
