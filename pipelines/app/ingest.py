"""The ingest use case: bars from a provider into the Parquet store, fetched only where the store
lacks them.

:func:`ingest_bars` is the one ingest every front end runs: ``tradeforge ingest`` (a
:class:`BarsRequest`), the Dagster ``market_bars`` asset (:func:`ingest_partition`, one universe
symbol and year at each of its timeframes) and the API's backtests, walk-forwards and trainings
(:func:`ensure_bars_table`, which ingests only when the store lacks part of the requested window) and
its market-data route (:func:`ingest_missing`, the same without the versioned snapshot).
Each run answers an :class:`IngestResult`: what was fetched and written, and the data version of the
stored bars of the requested years afterwards.

Nothing here runs on an event loop: the API calls :func:`ensure_bars_table` from a worker thread
(its handlers are ``sync_to_thread``) or from a job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.data.ingest import (
    IngestReport,
    IngestRequest,
    ProgressCallback,
    SymbolIngest,
    ingest,
    lacks_bars,
    open_store,
    plan_ingest,
    stored_version,
)
from pipelines.data.limits import check_bar_count
from pipelines.data.providers import Provider, get_provider
from pipelines.data.quality import QualityReport, check_bars
from pipelines.data.store import SeriesKey
from pipelines.data.universe import UniverseItem, universe_item, year_window
from pipelines.data.version import DataVersion
from pipelines.errors import DataNotFoundError, ProviderError
from pipelines.features.store import FeatureTable, stored_bars_table
from pipelines.settings import Settings

__all__ = [
    "BarsRequest",
    "DataRequest",
    "IngestResult",
    "PartitionIngest",
    "PartitionRequest",
    "ensure_bars_table",
    "ingest_bars",
    "ingest_missing",
    "ingest_partition",
    "plan_bars",
    "symbols_of",
]


@dataclass(frozen=True)
class BarsRequest:
    """Bars a front end asks to ingest: symbols of one source and timeframe over [start, end)
    (default: the configured history start to now); ``path`` is the file of source ``file``."""

    source: str
    symbols: tuple[str, ...]
    timeframe: str = "1d"
    start: Any = None
    end: Any = None
    path: Path | None = None


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did, and the version of each symbol's stored bars of the requested years."""

    report: IngestReport
    versions: dict[str, DataVersion]

    @property
    def failed(self) -> list[SymbolIngest]:
        return self.report.failed

    @property
    def rows_written(self) -> int:
        return self.report.rows_written

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()


def plan_bars(settings: Settings, request: BarsRequest) -> IngestRequest:
    """``request`` validated completely, before anything is fetched or written."""
    return plan_ingest(
        settings,
        source=request.source,
        symbols=list(request.symbols),
        timeframe=request.timeframe,
        start=request.start,
        end=request.end,
        path=request.path,
    )


def _years(start: pd.Timestamp, end: pd.Timestamp) -> range:
    """The calendar years [start, end) touches (an end at midnight of January 1 adds no year)."""
    return range(start.year, (end - pd.Timedelta(1, "ns")).year + 1)


def ingest_bars(
    settings: Settings,
    request: IngestRequest,
    *,
    on_progress: ProgressCallback | None = None,
    now: pd.Timestamp | None = None,
    provider: Provider | None = None,
) -> IngestResult:
    """Bring the store up to date for ``request`` (only what it lacks is fetched) and version the
    stored bars of the requested years."""
    report = ingest(settings, request, provider=provider, on_progress=on_progress, now=now)
    years = _years(request.start, request.end)
    versions = {}
    for done in report.symbols:
        version = stored_version(
            settings, SeriesKey(report.source, report.timeframe, done.symbol), years=years
        )
        if version is not None:
            versions[done.symbol] = version
    return IngestResult(report, versions)


# -- the ``market_bars`` asset: one universe symbol, one calendar year ---------------------------------
@dataclass(frozen=True)
class PartitionRequest:
    """One ``market_bars`` partition: a universe symbol (its partition key or name) and a year."""

    key: str
    year: int


@dataclass
class PartitionIngest:
    """What one (symbol, year) partition run did, per timeframe."""

    item: UniverseItem
    year: int
    results: dict[str, IngestResult]
    quality: dict[str, QualityReport]

    @property
    def reports(self) -> dict[str, IngestReport]:
        return {tf: r.report for tf, r in self.results.items()}

    @property
    def rows_written(self) -> int:
        return sum(r.rows_written for r in self.results.values())

    def versions(self) -> dict[str, DataVersion]:
        """timeframe -> the version of the partition's stored bars (absent: nothing stored)."""
        name = self.item.symbol.name
        return {tf: r.versions[name] for tf, r in self.results.items() if name in r.versions}

    def errors(self) -> list[str]:
        return [f"{tf}: {s.symbol}: {s.error}" for tf, r in self.reports.items() for s in r.failed]


def ingest_partition(
    settings: Settings, request: PartitionRequest, now: pd.Timestamp | None = None
) -> PartitionIngest:
    """Ingest one universe symbol for one calendar year at each of its timeframes, then apply the
    quality rules to that year's stored bars."""
    now = now or pd.Timestamp.now(tz="UTC")
    item = universe_item(settings, request.key)
    start, end = year_window(settings, request.year, now)
    results: dict[str, IngestResult] = {}
    quality: dict[str, QualityReport] = {}
    for tf in item.timeframes:
        plan = plan_ingest(
            settings, source=item.source, symbols=[item.symbol.name], timeframe=tf.name, start=start, end=end
        )
        results[tf.name] = ingest_bars(settings, plan, now=now)
        stored = open_store(settings).read(SeriesKey(item.source, tf.name, item.symbol.name), start, end)
        if not stored.empty:
            quality[tf.name] = check_bars(stored, tf, crypto=item.symbol.is_crypto)
    return PartitionIngest(item, request.year, results, quality)


# -- the API and CLI requests: the data of one dataset, ingested only when missing ----------------------
@dataclass(frozen=True)
class DataRequest:
    """The bars a backtest, walk-forward or training reads: one dataset over [start, end); ``path``:
    a user's file (source ``file``), read as it is and never stored."""

    source: str
    symbol: str
    timeframe: str
    start: pd.Timestamp
    end: pd.Timestamp
    path: Path | None = None


def ensure_bars_table(settings: Settings, request: DataRequest) -> FeatureTable:
    """The stored bars of ``request`` as one versioned snapshot (features are computed from them).

    When the store lacks part of the window, :func:`ingest_bars` fetches that part first (the ingest
    the ``market_bars`` asset runs); when it holds the window, nothing is fetched. A user's file is
    read as it is, versioned by its bytes. Runs in the caller's thread, never on an event loop."""
    plan = plan_ingest(
        settings,
        source=request.source,
        symbols=[request.symbol],
        timeframe=request.timeframe,
        start=request.start,
        end=request.end,
        path=request.path,
    )
    if plan.source == "file":
        return _file_table(settings, plan)
    key = ingest_missing(settings, plan)
    return stored_bars_table(settings, key, plan.start, plan.end)


def ingest_missing(settings: Settings, plan: IngestRequest) -> SeriesKey:
    """The key of ``plan``'s (one symbol's) stored series, after :func:`ingest_bars` has fetched what
    the store lacks of its window; nothing is fetched when the store holds it. A failed fetch is a
    ProviderError and writes nothing."""
    if lacks_bars(settings, plan):
        result = ingest_bars(settings, plan)
        if result.failed:
            raise ProviderError(
                f"could not fetch {plan.symbols[0].name} {plan.timeframe.name} from {plan.source}: "
                f"{result.failed[0].error}"
            )
    return SeriesKey(plan.source, plan.timeframe.name, plan.symbols[0].name)


def _file_table(settings: Settings, plan: IngestRequest) -> FeatureTable:
    """The bars of a user's file in the window, counted against the per-request limit."""
    assert plan.path is not None  # plan_ingest requires a path for source "file"
    provider = get_provider(plan.source, settings, path=plan.path)
    bars = provider.fetch(plan.symbols[0], plan.timeframe, plan.start, plan.end)
    if bars.empty:
        raise DataNotFoundError(f"{plan.path} has no bars between {plan.start.date()} and {plan.end.date()}")
    check_bar_count(settings, len(bars), "the file")
    version = DataVersion.of_files(
        [plan.path], last_bar=pd.Timestamp(bars["timestamp"].iloc[-1]), rows=len(bars)
    )
    key = SeriesKey(plan.source, plan.timeframe.name, plan.symbols[0].name)
    return FeatureTable(key=key, frame=bars, feature_set="", version=version, path=plan.path)


def symbols_of(text: str) -> tuple[str, ...]:
    """The symbols of a comma-separated list (``AAPL, BTC/USDT``), blanks dropped."""
    return tuple(s for s in (x.strip() for x in text.split(",")) if s)
