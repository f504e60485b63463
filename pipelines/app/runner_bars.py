"""The stored bars of the series live strategies run on: read to warm a new runner and to replay what a
restarted one missed, from the source the live feed writes each symbol from."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from pipelines.data.ingest import open_store
from pipelines.data.market import source_for
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import parse_symbol
from pipelines.settings import Settings

__all__ = ["RunnerBars", "SourceOf"]

SourceOf = Callable[[str], str | None]  # symbol -> the source the live feed writes it from, if it does


class RunnerBars:
    """Bars of (symbol, timeframe) from the market-data store."""

    def __init__(self, settings: Settings, source_of: SourceOf | None = None) -> None:
        self.settings = settings
        self.source_of = source_of
        self.store = open_store(settings)

    def key(self, symbol: str, timeframe: str) -> SeriesKey:
        sym = parse_symbol(symbol)
        source = (self.source_of(sym.name) if self.source_of else None) or source_for(self.settings, sym)
        return SeriesKey(source, timeframe, sym.name)

    def end(self, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """The newest stored bar's time, or None when none is stored."""
        bounds = self.store.bounds(self.key(symbol, timeframe))
        return None if bounds is None else pd.Timestamp(bounds.last)

    def read(self, symbol: str, timeframe: str, start: pd.Timestamp) -> pd.DataFrame:
        return self.store.read(self.key(symbol, timeframe), start)
