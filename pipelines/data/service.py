"""Read-side operations on stored bars, shared by the CLI, the Dagster assets and the API."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.data.ingest import ingest, plan_ingest
from pipelines.data.limits import check_bar_count
from pipelines.data.providers import get_provider, normalize_source
from pipelines.data.quality import QualityReport, check_bars
from pipelines.data.store import DatasetKey, ParquetStore
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import DataNotFoundError, ProviderError
from pipelines.settings import Settings

__all__ = ["check_dataset", "ensure_bars", "load_bars"]


def load_bars(
    settings: Settings,
    *,
    source: str,
    symbol: str,
    timeframe: str,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored bars of one dataset; ``DataNotFoundError`` when there are none in the range."""
    src, tf, sym = normalize_source(source), parse_timeframe(timeframe), parse_symbol(symbol)
    bars = ParquetStore(settings.market_dir, settings.locks_dir).read(
        DatasetKey(src, tf.name, sym.name), start, end
    )
    if bars.empty:
        raise DataNotFoundError(f"no stored {tf.name} bars of {sym.name} from source {src!r} in that range")
    return bars


def check_dataset(settings: Settings, *, source: str, symbol: str, timeframe: str) -> QualityReport:
    """The quality rules applied to everything stored for one dataset."""
    bars = load_bars(settings, source=source, symbol=symbol, timeframe=timeframe)
    sym = parse_symbol(symbol)
    return check_bars(bars, parse_timeframe(timeframe), crypto=sym.is_crypto)


def ensure_bars(
    settings: Settings,
    *,
    source: str,
    symbol: str,
    timeframe: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    path: str | Path | None = None,
) -> pd.DataFrame:
    """Bars for [start, end): a user's file is read as it is (nothing stored); any other source is
    first brought up to date in the store (:func:`pipelines.data.ingest.ingest`, the ingest the
    ``market_bars`` asset runs, which fetches only what the store lacks), then read from it. For the
    API's backtests and walk-forwards; training and the Dagster reports read the feature table."""
    src = normalize_source(source)
    plan = plan_ingest(
        settings, source=src, symbols=[symbol], timeframe=timeframe, start=start, end=end, path=path
    )
    if src == "file":
        provider = get_provider(src, settings, path=plan.path)
        bars = provider.fetch(plan.symbols[0], plan.timeframe, plan.start, plan.end)
        if bars.empty:
            raise DataNotFoundError(f"{plan.path} has no bars between {start.date()} and {end.date()}")
        check_bar_count(settings, len(bars), "the file")
        return bars
    report = ingest(settings, plan)
    if report.failed:
        raise ProviderError(f"could not fetch {symbol} {timeframe} from {src}: {report.failed[0].error}")
    return load_bars(settings, source=src, symbol=symbol, timeframe=timeframe, start=start, end=end)
