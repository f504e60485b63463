"""The market view of the analytics routes (``/api/analytics/market``): the latest candles of a
symbol in a window, and RSI, MACD and Bollinger bands of the latest one computed with the feature
definitions the models train on.

Candles come from the market-data routes' reader (:func:`pipelines.app.candles.market_candles`:
stored bars, the missing part ingested first). The indicators of the latest candle are computed over
the :data:`INDICATOR_BARS` stored bars ending at it (fewer when the store has fewer), read in the same
pass, so a window of a few candles still gets warmed-up values; an indicator without enough bars is
None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from pipelines.app.candles import Candles, market_candles
from pipelines.data.limits import days_for_bars
from pipelines.data.schema import PRICE_COLUMNS
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.timeutil import parse_time, utc_now
from pipelines.errors import InvalidParameterError, InvalidRequestError
from pipelines.features import compute_features, get_feature_set
from pipelines.settings import Settings

__all__ = [
    "DEFAULT_LIMIT",
    "INDICATOR_BARS",
    "MARKET_TIMEFRAMES",
    "MAX_LIMIT",
    "MarketView",
    "decimal_string",
    "indicator_values",
    "market_view",
]

MARKET_TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
INDICATOR_BARS = 250  # bars the latest candle's indicators are computed over (RSI's smoothing settles)
# The indicator columns of the default feature set (the one the models train on) and their names here.
INDICATOR_COLUMNS = {
    "rsi": "rsi_14",
    "macd": "macd_12_26_9",
    "bollinger_upper": "bb_upper_20_2",
    "bollinger_middle": "bb_middle_20_2",
    "bollinger_lower": "bb_lower_20_2",
}
_INDICATORS = get_feature_set("default").subset(INDICATOR_COLUMNS.values())


@dataclass(frozen=True)
class MarketView:
    """Candles (``timestamp`` UTC, ``open high low close volume`` floats, ascending) and the
    indicators of the latest one (None where not enough bars)."""

    symbol: str
    timeframe: str
    candles: pd.DataFrame
    indicators: dict[str, float | None]


def decimal_string(value: float, places: int = 2) -> str:
    """A price or volume as a decimal string: the shortest decimal that reads back as ``value``,
    with at least ``places`` decimals (45000.0 -> "45000.00", 1e-07 -> "0.0000001")."""
    text = format(Decimal(repr(float(value))), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(places, '0')}"


def indicator_values(bars: pd.DataFrame) -> dict[str, float | None]:
    """RSI(14), MACD(12, 26, 9) and the Bollinger bands (20, 2) of the last row of ``bars``
    (``timestamp`` and ``open high low close volume``), computed over all of its rows."""
    if bars.empty:
        return dict.fromkeys(INDICATOR_COLUMNS)
    last = compute_features(bars, _INDICATORS).iloc[-1]
    out: dict[str, float | None] = {}
    for name, column in INDICATOR_COLUMNS.items():
        value = float(last[column])
        out[name] = value if math.isfinite(value) else None
    return out


def _checked(
    timeframe: str, start_date: Any, end_date: Any, limit: int
) -> tuple[Timeframe, pd.Timestamp | None, pd.Timestamp]:
    """(timeframe, start or None, end) refused as VALIDATION_ERROR before anything is read."""
    if timeframe not in MARKET_TIMEFRAMES:
        raise InvalidParameterError(
            f"unknown timeframe {timeframe!r}; expected one of {', '.join(MARKET_TIMEFRAMES)}"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameterError(f"limit {limit} is out of range: 1 to {MAX_LIMIT}")
    try:
        end = parse_time(end_date, name="end_date") if end_date is not None else utc_now()
        start = parse_time(start_date, name="start_date") if start_date is not None else None
    except InvalidRequestError as exc:
        raise InvalidParameterError(str(exc)) from None
    if start is not None and start > end:
        raise InvalidParameterError(f"start_date {start.isoformat()} is after end_date {end.isoformat()}")
    return parse_timeframe(timeframe), start, end


def market_view(
    settings: Settings,
    symbol: str,
    timeframe: str = "1h",
    start_date: Any = None,
    end_date: Any = None,
    limit: int = DEFAULT_LIMIT,
) -> MarketView:
    """The last ``limit`` candles of ``symbol`` at ``timeframe`` with ``start_date <= timestamp <=
    end_date`` (end default now) and the indicators of the latest of them (see the module docstring).

    A malformed symbol is an InvalidSymbolError; a timeframe outside :data:`MARKET_TIMEFRAMES`, a
    limit outside 1..:data:`MAX_LIMIT` or a bad date an InvalidParameterError; a symbol no source has
    a DataNotFoundError. Only the bars the answer needs are read (at most ``max(limit,
    INDICATOR_BARS)`` bars' span before ``end_date``)."""
    sym = parse_symbol(symbol)
    tf, start, end = _checked(timeframe, start_date, end_date, limit)
    days = days_for_bars(tf, max(limit, INDICATOR_BARS), crypto=sym.is_crypto)
    if not sym.is_crypto:
        days = math.ceil(days * 1.2) + 5  # holidays and long weekends
    # Every bar the answer needs lies in this span: the candles are the last ones before ``end``, and
    # the indicators are computed over the bars up to the last candle, which is the last bar read.
    stored: Candles = market_candles(settings, sym.name, tf.name, end - pd.Timedelta(days=days), end)
    bars = _frame(stored)
    candles = (bars if start is None else bars[bars["timestamp"] >= start]).tail(limit)
    history = bars.tail(INDICATOR_BARS) if len(candles) else bars.iloc[:0]
    return MarketView(
        sym.name, tf.name, candles.reset_index(drop=True), indicator_values(history.reset_index(drop=True))
    )


def _frame(candles: Candles) -> pd.DataFrame:
    columns = ["timestamp", *PRICE_COLUMNS]
    if candles.bars is None:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    bars: pd.DataFrame = candles.bars.select(columns).to_pandas()
    bars["timestamp"] = pd.to_datetime(bars["timestamp"], utc=True)
    return bars
