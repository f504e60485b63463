"""The supported bar timeframes and what each means to pandas, Yahoo and ccxt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.errors import InvalidRequestError

__all__ = ["TIMEFRAMES", "TIMEFRAME_SPELLINGS", "Timeframe", "parse_timeframe"]


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A bar length. ``seconds`` is nominal for 1wk and 1mo (7 and 30 days)."""

    name: str
    seconds: int
    pandas_freq: str
    yahoo_interval: str
    ccxt_timeframe: str

    @property
    def is_intraday(self) -> bool:
        return self.seconds < 86_400

    @property
    def minutes(self) -> int:
        return self.seconds // 60

    @property
    def nanos(self) -> int:
        return self.seconds * 1_000_000_000

    def bars_per_year(self, *, crypto: bool) -> float:
        """Bars in a year: 252 sessions of 6.5 h for stocks, 365 days of 24 h for crypto."""
        if self.name == "1wk":
            return 52.0
        if self.name == "1mo":
            return 12.0
        if crypto:
            return 365.0 * 86_400 / self.seconds
        if self.name == "1d":
            return 252.0
        return 252.0 * float(np.ceil(23_400 / self.seconds))

    def floor(self, ts: pd.Timestamp) -> pd.Timestamp:
        """The start of the bar that contains ``ts`` (UTC-aligned)."""
        if self.name == "1mo":
            return pd.Timestamp(year=ts.year, month=ts.month, day=1, tz="UTC")
        if self.name == "1wk":
            day = ts.normalize()
            return day - pd.Timedelta(days=day.day_of_week)
        return ts.floor(self.pandas_freq)


TIMEFRAMES: dict[str, Timeframe] = {
    tf.name: tf
    for tf in (
        Timeframe("1m", 60, "1min", "1m", "1m"),
        Timeframe("2m", 120, "2min", "2m", "2m"),
        Timeframe("5m", 300, "5min", "5m", "5m"),
        Timeframe("15m", 900, "15min", "15m", "15m"),
        Timeframe("30m", 1_800, "30min", "30m", "30m"),
        Timeframe("1h", 3_600, "1h", "1h", "1h"),
        Timeframe("4h", 14_400, "4h", "4h", "4h"),
        Timeframe("1d", 86_400, "1D", "1d", "1d"),
        Timeframe("1wk", 604_800, "W-MON", "1wk", "1w"),
        Timeframe("1mo", 2_592_000, "MS", "1mo", "1M"),
    )
}

_ALIASES = {
    "1min": "1m",
    "60m": "1h",
    "1H": "1h",
    "4H": "4h",
    "1D": "1d",
    "1w": "1wk",
    "1W": "1wk",
    "1M": "1mo",
}

TIMEFRAME_SPELLINGS: tuple[str, ...] = (*TIMEFRAMES, *_ALIASES)
"""Every name ``parse_timeframe`` accepts: the canonical names, then their aliases."""


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """The Timeframe named ``value``; a clear error lists the valid names otherwise."""
    if isinstance(value, Timeframe):
        return value
    name = _ALIASES.get(value.strip(), value.strip())
    try:
        return TIMEFRAMES[name]
    except KeyError:
        raise InvalidRequestError(
            f"unknown timeframe {value!r}; expected one of {', '.join(TIMEFRAMES)}"
        ) from None
