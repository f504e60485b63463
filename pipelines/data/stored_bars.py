"""Read-side operations on stored bars, shared by the CLI, the Dagster assets and the API (the bars a
request reads, ingested first when missing, come from :mod:`pipelines.app.ingest`)."""

from __future__ import annotations

import pandas as pd

from pipelines.data.providers import normalize_source
from pipelines.data.quality import QualityReport, check_bars
from pipelines.data.store import ParquetStore, SeriesKey
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import DataNotFoundError
from pipelines.settings import Settings

__all__ = ["check_stored_bars", "load_bars"]


def load_bars(
    settings: Settings,
    *,
    source: str,
    symbol: str,
    timeframe: str,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored bars of one series; ``DataNotFoundError`` when there are none in the range."""
    src, tf, sym = normalize_source(source), parse_timeframe(timeframe), parse_symbol(symbol)
    bars = ParquetStore.open(settings).read(SeriesKey(src, tf.name, sym.name), start, end)
    if bars.empty:
        raise DataNotFoundError(f"no stored {tf.name} bars of {sym.name} from source {src!r} in that range")
    return bars


def check_stored_bars(settings: Settings, *, source: str, symbol: str, timeframe: str) -> QualityReport:
    """The quality rules applied to everything stored for one series."""
    bars = load_bars(settings, source=source, symbol=symbol, timeframe=timeframe)
    sym = parse_symbol(symbol)
    return check_bars(bars, parse_timeframe(timeframe), crypto=sym.is_crypto)
