"""The benchmark and significance blocks of the backtest and walk-forward use cases: the traded
symbol's own buy and hold always, and the buy and hold of ``backtest_benchmark_symbol`` (a setting)
when one is set and its bars can be read."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.backtest import BacktestResult, WalkForwardResult
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.honest import HonestResults, honest_backtest, honest_sweep, honest_walk_forward
from pipelines.backtest.sweep import SweepResult
from pipelines.data.default_source import default_source
from pipelines.data.symbols import parse_symbol
from pipelines.errors import TradeforgeError
from pipelines.settings import Settings

__all__ = [
    "backtest_honesty",
    "benchmark_symbol_bars",
    "honest_metrics",
    "honesty_tags",
    "log_honesty",
    "sweep_honesty",
    "walk_forward_honesty",
]

log = logging.getLogger(__name__)

# The block fields that go to MLflow as metrics (prefixed by the report's own prefix).
_BENCHMARK_METRICS = (
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "excess_annual_return",
    "information_ratio",
    "beta",
    "alpha",
)
_SIGNIFICANCE_METRICS = (
    "sharpe_std_error",
    "psr_vs_zero",
    "psr_vs_benchmark",
    "min_track_record_years",
    "deflated_sharpe",
    "expected_max_sharpe",
    "walk_forward_efficiency",
    "in_sample_sharpe",
    "out_of_sample_sharpe",
)


def benchmark_symbol_bars(
    settings: Settings,
    symbol: str,
    timeframe: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    source: str | None = None,
) -> list[tuple[str, pd.DataFrame]]:
    """(symbol, bars) of the settings' benchmark symbol over ``start``..``end``; none when it is
    unset, is the traded symbol, or its bars cannot be read (logged: a benchmark never fails a run).
    A run on synthetic bars is compared with synthetic bars; any other with the symbol's default
    source."""
    name = settings.data.backtest_benchmark_symbol
    if not name:
        return []
    try:
        parsed = parse_symbol(name)
        if parsed.name == parse_symbol(symbol).name:
            return []
        read = "synthetic" if source == "synthetic" else default_source(settings, parsed, timeframe)
        table = ensure_bars_table(settings, DataRequest(read, parsed.name, timeframe, start, end))
        return [(parsed.name, table.bars())]
    except TradeforgeError as exc:
        log.warning("benchmark symbol %s left out: %s", name, exc)
        return []


def backtest_honesty(
    settings: Settings, bars: pd.DataFrame, result: BacktestResult, symbol: str, timeframe: str, source: str
) -> HonestResults:
    """The blocks of a backtest of ``symbol`` traded on ``bars`` (read from ``source``)."""
    others = _others(settings, result.timestamps, symbol, timeframe, source)
    return honest_backtest(bars, result, symbol=symbol, others=others)


def walk_forward_honesty(
    settings: Settings,
    bars: pd.DataFrame,
    result: WalkForwardResult,
    config: BacktestConfig,
    symbol: str,
    timeframe: str,
    source: str,
) -> HonestResults:
    """The blocks of a walk-forward of ``symbol`` traded on ``bars`` (read from ``source``)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(result.timestamps_ns, utc=True))
    others = _others(settings, stamps, symbol, timeframe, source)
    return honest_walk_forward(bars, result, config, symbol=symbol, others=others)


def sweep_honesty(
    settings: Settings, bars: pd.DataFrame, result: SweepResult, symbol: str, timeframe: str, source: str
) -> SweepResult:
    """``result`` (a sweep of ``symbol`` on ``bars`` read from ``source``) with its blocks: the best
    combination against buy and hold, deflated by every combination run."""
    stamps = pd.DatetimeIndex(pd.to_datetime(result.best.timestamps_ns, utc=True))
    others = _others(settings, stamps, symbol, timeframe, source)
    return honest_sweep(bars, result, symbol=symbol, others=others)


def _others(
    settings: Settings, stamps: pd.DatetimeIndex, symbol: str, timeframe: str, source: str
) -> list[tuple[str, pd.DataFrame]]:
    if len(stamps) < 2:
        return []
    end = stamps[-1] + pd.Timedelta(seconds=1)
    return benchmark_symbol_bars(settings, symbol, timeframe, stamps[0], end, source)


def honest_metrics(prefix: str, blocks: Mapping[str, Any]) -> dict[str, float]:
    """The numeric headline of the blocks as MLflow metrics: ``{prefix}benchmark_*`` and ``{prefix}*``
    of the significance block, a walk-forward's efficiency with the in- and out-of-sample Sharpe
    ratios it divides (None values left out)."""
    out: dict[str, float] = {}
    for name in _BENCHMARK_METRICS:
        value = blocks["benchmark"].get(name)
        if isinstance(value, int | float):
            out[f"{prefix}benchmark_{name}"] = float(value)
    for name in _SIGNIFICANCE_METRICS:
        value = blocks["significance"].get(name)
        if isinstance(value, int | float):
            out[f"{prefix}{name}"] = float(value)
    return out


def honesty_tags(blocks: Mapping[str, Any]) -> dict[str, str]:
    """The blocks' verdicts (against buy and hold, and of the Sharpe ratio's significance) as run tags."""
    return {
        "tradeforge.verdict": blocks["benchmark"]["verdict"],
        "tradeforge.significance": blocks["significance"]["verdict"],
    }


def log_honesty(run: Any, prefix: str, blocks: Mapping[str, Any]) -> None:
    """The blocks (``benchmark`` and ``significance``) on an open tracker run: as metrics, as a
    ``honest_results.json`` artifact and their verdicts as tags (:func:`honesty_tags`)."""
    run.log_metrics(honest_metrics(prefix, blocks))
    run.log_dict(dict(blocks), "honest_results.json")
    run.set_tags(honesty_tags(blocks))
