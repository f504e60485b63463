"""Walk-forward requests: validated up front, run on stored (or user-file) bars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.app.backtest_plan import plan_backtest, warm_from
from pipelines.app.honest_results import walk_forward_honesty
from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.backtest import BacktestConfig, WalkForwardResult, walk_forward
from pipelines.backtest.honest import HonestResults
from pipelines.data.limits import estimate_bars
from pipelines.data.version import DataVersion
from pipelines.errors import InvalidRequestError
from pipelines.models.base import ModelKind
from pipelines.models.params import validate_params
from pipelines.settings import Settings

__all__ = [
    "WalkForwardRequest",
    "WalkForwardRun",
    "check_folds",
    "plan_walk_forward",
    "run_walk_forward",
    "walk_forward_run",
]


@dataclass(frozen=True)
class WalkForwardRequest:
    model_type: str
    params: dict[str, Any]
    symbol: str
    timeframe: str
    source: str
    start: pd.Timestamp
    end: pd.Timestamp
    train_window: int
    test_window: int
    mode: str
    threshold: float
    config: BacktestConfig
    path: Path | None = None


def plan_walk_forward(
    settings: Settings,
    *,
    model_type: str,
    symbol: str,
    params: dict[str, Any] | None = None,
    train_window: int = 252,
    test_window: int = 63,
    mode: str = "rolling",
    threshold: float = 0.2,
    **backtest: Any,
) -> WalkForwardRequest:
    """Check the model, windows and (through ``plan_backtest``) the data and trading settings."""
    try:
        kind = ModelKind(model_type)
    except ValueError:
        raise InvalidRequestError(
            f"unknown model_type {model_type!r}; expected one of {', '.join(k.value for k in ModelKind)}"
        ) from None
    if kind in (ModelKind.ENSEMBLE, ModelKind.MULTI_OHLC):
        raise InvalidRequestError(f"walk-forward retrains a single-target model; {kind.value} is not one")
    checked = validate_params(kind, params or {})
    if train_window < 20 or test_window < 1:
        raise InvalidRequestError("train_window must be at least 20 bars and test_window at least 1")
    if mode not in ("rolling", "expanding"):
        raise InvalidRequestError("mode must be 'rolling' or 'expanding'")
    if not 0.0 <= threshold < 1.0:
        raise InvalidRequestError("threshold must be in [0, 1)")
    base = plan_backtest(settings, strategy="buy_and_hold", symbol=symbol, **backtest)
    if base.source != "file":  # a user's file is counted when it is read
        bars = estimate_bars(base.timeframe, base.start, base.end, crypto=base.config.crypto)
        check_folds(settings, bars, train_window, test_window)
    return WalkForwardRequest(
        kind.value,
        checked,
        base.symbol,
        base.timeframe,
        base.source,
        base.start,
        base.end,
        train_window,
        test_window,
        mode,
        threshold,
        base.config,
        base.path,
    )


def check_folds(settings: Settings, bars: int, train_window: int, test_window: int) -> int:
    """The folds ``bars`` bars give (rolling or expanding alike); an InvalidRequestError naming
    ``max_walk_forward_folds`` and how to fit it when they are more than the limit."""
    folds = max(0, bars - train_window) // max(1, test_window)
    limit = settings.limits.max_walk_forward_folds
    if folds > limit:
        wider = -(-(bars - train_window) // limit)
        raise InvalidRequestError(
            f"train_window {train_window} and test_window {test_window} over about {bars:,} bars give "
            f"{folds:,} folds, over the limit of {limit:,} walk-forward folds (max_walk_forward_folds); "
            f"use a test_window of at least {wider}, a shorter range or a coarser timeframe"
        )
    return folds


@dataclass(frozen=True)
class WalkForwardRun:
    """A walk-forward's result, the version of the bars it read, and its benchmark and significance."""

    result: WalkForwardResult
    data_version: DataVersion
    honest: HonestResults


def walk_forward_run(
    settings: Settings, request: WalkForwardRequest, progress: Callable[[float, str], None] | None = None
) -> WalkForwardRun:
    """Run ``request`` on its bars, read through :func:`pipelines.app.ingest.ensure_bars_table`
    (stored bars, ingested first only when the store lacks part of the window; a user's file as it is).
    The bars before the request's start warm the features, as a backtest's do, so the first folds train
    on full windows. ``progress(percent, description)`` hears of each stage and fold."""
    if progress is not None:
        progress(2.0, f"loading {request.symbol} {request.timeframe} bars")
    first = warm_from(request.source, request.start, request.timeframe, crypto=request.config.crypto)
    table = ensure_bars_table(
        settings,
        DataRequest(request.source, request.symbol, request.timeframe, first, request.end, request.path),
    )
    bars = table.bars()
    period = int((pd.to_datetime(bars["timestamp"], utc=True) >= request.start).sum())
    check_folds(settings, period, request.train_window, request.test_window)
    if period < request.train_window + request.test_window:
        raise InvalidRequestError(
            f"{period} bars of {request.symbol} cannot hold one fold of {request.train_window} training "
            f"and {request.test_window} test bars; widen the dates or shrink the windows"
        )
    result = walk_forward(
        bars,
        request.model_type,
        request.params,
        start=request.start,
        train_window=request.train_window,
        test_window=request.test_window,
        config=request.config,
        mode=request.mode,
        threshold=request.threshold,
        progress=progress,
    )
    honest = walk_forward_honesty(
        settings, bars, result, request.config, request.symbol, request.timeframe, request.source
    )
    return WalkForwardRun(result, table.version, honest)


def run_walk_forward(
    settings: Settings, request: WalkForwardRequest, progress: Callable[[float, str], None] | None = None
) -> WalkForwardResult:
    """:func:`walk_forward_run`'s result alone."""
    return walk_forward_run(settings, request, progress).result
