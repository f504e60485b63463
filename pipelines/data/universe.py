"""The configured universe: which symbols are ingested, from where, at which timeframes."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.data.providers import normalize_source
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.timeutil import parse_time
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = [
    "UniverseItem",
    "history_years",
    "resolve_universe",
    "universe_item",
    "year_window",
]


@dataclass(frozen=True)
class UniverseItem:
    symbol: Symbol
    source: str
    timeframes: tuple[Timeframe, ...]

    @property
    def key(self) -> str:
        """The partition key: the path-safe symbol (``BTC-USDT``)."""
        return self.symbol.path_name


def resolve_universe(settings: Settings) -> list[UniverseItem]:
    """The validated universe; a bad entry is an error that names it."""
    items = []
    for entry in settings.data.universe:
        source = normalize_source(entry.source)
        crypto = True if source == "ccxt" else False if source == "yfinance" else None
        items.append(
            UniverseItem(
                parse_symbol(entry.symbol, crypto=crypto),
                source,
                tuple(parse_timeframe(t) for t in entry.timeframes),
            )
        )
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys):
        raise InvalidRequestError("the universe lists a symbol twice")
    return items


def universe_item(settings: Settings, key: str) -> UniverseItem:
    for item in resolve_universe(settings):
        if key in (item.key, item.symbol.name):
            return item
    raise InvalidRequestError(f"{key!r} is not in the configured universe")


def history_years(settings: Settings, now: pd.Timestamp | None = None) -> list[str]:
    start = parse_time(settings.data.history_start, name="history_start")
    last = (now or pd.Timestamp.now(tz="UTC")).year
    return [str(y) for y in range(start.year, last + 1)]


def year_window(settings: Settings, year: int, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The part of calendar ``year`` that lies inside the configured history and before ``now``."""
    start = max(pd.Timestamp(year=year, month=1, day=1, tz="UTC"), parse_time(settings.data.history_start))
    end = min(pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC"), now)
    if start >= end:
        raise InvalidRequestError(
            f"year {year} lies outside the history ({settings.data.history_start} to now)"
        )
    return start, end
