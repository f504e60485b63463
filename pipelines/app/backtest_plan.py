"""Backtest requests: validated up front, run on stored (or user-file) bars, with model signals
from the registry when a strategy asks for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.app.honest_results import backtest_honesty
from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.app.job_params import require_model
from pipelines.backtest import (
    BacktestConfig,
    BacktestResult,
    validate_strategy_params,
)
from pipelines.backtest.honest import HonestResults
from pipelines.backtest.runner import run_strategy_from
from pipelines.backtest.strategies import strategy_name
from pipelines.data.limits import request_span
from pipelines.data.providers import normalize_source
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.timeutil import EARLIEST_YEAR
from pipelines.data.version import DataVersion
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = [
    "WARMUP_BARS",
    "BacktestRequest",
    "BacktestRun",
    "LazyRegistrySignals",
    "backtest_run",
    "plan_backtest",
    "run_backtest_request",
    "run_strategy_from",
    "warm_from",
    "warmup_start",
]

# Bars of history loaded before a backtest's start so indicators (up to SMA 200) and model features
# are warm on its first day; trading starts at the requested start.
WARMUP_BARS = 260


@dataclass(frozen=True)
class BacktestRequest:
    strategy: str
    params: dict[str, Any]
    symbol: str
    timeframe: str
    source: str
    start: pd.Timestamp
    end: pd.Timestamp
    config: BacktestConfig
    path: Path | None = None


def plan_backtest(
    settings: Settings,
    *,
    strategy: str,
    symbol: str,
    params: Mapping[str, Any] | None = None,
    source: str = "synthetic",
    timeframe: str = "1d",
    start: Any = None,
    end: Any = None,
    path: str | Path | None = None,
    initial_capital: float = 10_000.0,
    commission: float = 0.001,
    slippage: float = 0.0,
    position_size: float = 1.0,
    allow_short: bool = False,
    stop_loss: float | None = None,
    take_profit: float | None = None,
) -> BacktestRequest:
    """Everything checked before any data is read: strategy and params (a model named by them is
    registered), symbol, dates, costs, and the bars the range holds against ``max_bars_per_request``."""
    checked = validate_strategy_params(strategy, params)
    strategy = strategy_name(strategy)
    if isinstance(checked.get("model_name"), str):
        require_model(settings, checked["model_name"])
    sym = parse_symbol(symbol)
    tf = parse_timeframe(timeframe)
    src = normalize_source(source)
    if src == "file" and path is None:
        raise InvalidRequestError("source 'file' needs --path to a CSV or Parquet file")
    if path is not None and not Path(path).is_file():
        raise InvalidRequestError(f"cannot read {path}: no such file")
    # A user's file is bounded by its size; its rows are counted when it is read (ensure_bars_table).
    start_ts, end_ts = request_span(
        settings,
        start,
        end,
        default_start="1970-01-02" if src == "file" else settings.data.history_start,
        timeframe=tf,
        crypto=sym.is_crypto,
        extra=WARMUP_BARS,
        bounded=src != "file",
    )
    config = BacktestConfig(
        initial_capital=initial_capital,
        commission=commission,
        slippage=slippage,
        position_size=position_size,
        allow_short=allow_short,
        stop_loss=stop_loss,
        take_profit=take_profit,
        timeframe=tf.name,
        crypto=sym.is_crypto,
    )
    return BacktestRequest(
        strategy, checked, sym.name, tf.name, src, start_ts, end_ts, config, Path(path) if path else None
    )


class LazyRegistrySignals:
    """Model signals from the registry of this home, opened only when a strategy asks for one."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._inner: Any = None

    def model_signal(self, model_name: str, bars: pd.DataFrame) -> Any:
        if self._inner is None:
            # Imported here: the registry loads MLflow (heavy), which a backtest without a model never needs.
            from pipelines.backtest.strategies.ml import RegistrySignals
            from pipelines.models.registry import ModelRegistry
            from pipelines.models.tracking import open_tracker

            registry = ModelRegistry(open_tracker(self._settings), self._settings.models_cache_dir)
            self._inner = RegistrySignals(registry)
        return self._inner.model_signal(model_name, bars)


def warmup_start(start: pd.Timestamp, timeframe: str, *, crypto: bool) -> pd.Timestamp:
    """A start early enough to hold ``WARMUP_BARS`` bars before ``start`` (sessions, weekends)."""
    tf = parse_timeframe(timeframe)
    per_day = tf.bars_per_year(crypto=crypto) / (365.0 if crypto else 252.0)
    days = WARMUP_BARS / max(per_day, 1e-9) * (1.0 if crypto else 7 / 5 * 1.1)
    earliest = pd.Timestamp(year=EARLIEST_YEAR, month=1, day=1, tz="UTC")  # no market data before it
    return max(start - pd.Timedelta(days=max(days, 1.0)), earliest)


def warm_from(source: str, start: pd.Timestamp, timeframe: str, *, crypto: bool) -> pd.Timestamp:
    """The first bar a run from ``start`` reads: :func:`warmup_start` for stored bars; ``start`` for a
    user's file, read as it is."""
    return start if source == "file" else warmup_start(start, timeframe, crypto=crypto)


@dataclass(frozen=True)
class BacktestRun:
    """A backtest's result, the version of the bars it read, and its benchmark and significance."""

    result: BacktestResult
    data_version: DataVersion
    honest: HonestResults


def backtest_run(settings: Settings, request: BacktestRequest, context: Any = None) -> BacktestRun:
    """Run ``request`` on its bars (warm-up included), read through
    :func:`pipelines.app.ingest.ensure_bars_table`: stored bars, ingested first only when the store
    lacks part of the window; a user's file as it is."""
    first = warm_from(request.source, request.start, request.timeframe, crypto=request.config.crypto)
    table = ensure_bars_table(
        settings,
        DataRequest(request.source, request.symbol, request.timeframe, first, request.end, request.path),
    )
    context = context or LazyRegistrySignals(settings)
    bars = table.bars()
    result = run_strategy_from(bars, request.start, request.strategy, request.params, request.config, context)
    honest = backtest_honesty(settings, bars, result, request.symbol, request.timeframe, request.source)
    return BacktestRun(result, table.version, honest)


def run_backtest_request(settings: Settings, request: BacktestRequest, context: Any = None) -> BacktestResult:
    """:func:`backtest_run`'s result alone."""
    return backtest_run(settings, request, context).result
