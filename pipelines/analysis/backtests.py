"""Backtest requests: validated up front, run on stored (or user-file) bars, with model signals
from the registry when a strategy asks for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.backtest import BacktestConfig, BacktestResult, run_strategy, validate_strategy_params
from pipelines.data.providers import normalize_source
from pipelines.data.service import ensure_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.timeutil import parse_time, utc_now
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = ["BacktestRequest", "LazyRegistrySignals", "plan_backtest", "run_backtest_request"]


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
    """Everything checked before any data is read: strategy and params, symbol, dates, costs."""
    checked = validate_strategy_params(strategy, params)
    sym = parse_symbol(symbol)
    tf = parse_timeframe(timeframe)
    src = normalize_source(source)
    if src == "file" and path is None:
        raise InvalidRequestError("source 'file' needs --path to a CSV or Parquet file")
    if path is not None and not Path(path).is_file():
        raise InvalidRequestError(f"cannot read {path}: no such file")
    default_start = "1970-01-02" if src == "file" else settings.history_start
    start_ts = parse_time(start if start is not None else default_start, name="start")
    end_ts = parse_time(end, name="end") if end is not None else utc_now()
    if start_ts >= end_ts:
        raise InvalidRequestError(f"start {start_ts.date()} must be before end {end_ts.date()}")
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
            from pipelines.backtest.strategies.ml import RegistrySignals
            from pipelines.models.registry import ModelRegistry
            from pipelines.models.tracking import open_tracker

            registry = ModelRegistry(open_tracker(self._settings), self._settings.models_cache_dir)
            self._inner = RegistrySignals(registry)
        return self._inner.model_signal(model_name, bars)


def run_backtest_request(settings: Settings, request: BacktestRequest, context: Any = None) -> BacktestResult:
    bars = ensure_bars(
        settings,
        source=request.source,
        symbol=request.symbol,
        timeframe=request.timeframe,
        start=request.start,
        end=request.end,
        path=request.path,
    )
    if len(bars) < 2:
        raise InvalidRequestError(
            f"only {len(bars)} bar(s) of {request.symbol} in that range: nothing to trade"
        )
    return run_strategy(
        bars, request.strategy, request.params, request.config, context or LazyRegistrySignals(settings)
    )
