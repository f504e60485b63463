"""The vectorized sweep of the built-in indicator strategies: each indicator computed once per
distinct parameter value, every combination traded in one compiled parallel pass
(:mod:`pipelines.backtest._sweep_kernel`), the engine's metrics assembled from its statistics."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.backtest import _sweep_kernel as sk
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.sweep_grid import Constraint, Grid
from pipelines.features import BarData, get_indicator
from pipelines.features._shared import close_mean_std

__all__ = ["FAST_STRATEGIES", "IMPLIED", "SWEEP_METRICS", "fast_sweep"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Progress = Callable[[float, str], None]

FAST_STRATEGIES = {
    "sma_cross": sk.KIND_SMA,
    "rsi_reversion": sk.KIND_RSI,
    "bollinger_breakout": sk.KIND_BOLLINGER,
}
# What the strategy itself refuses otherwise: every sweep of it keeps only these combinations.
IMPLIED = {
    "sma_cross": (Constraint("fast", "<", "slow"),),
    "rsi_reversion": (Constraint("oversold", "<", "overbought"),),
}
# The metrics every combination gets (the names and definitions of ``metrics.py``).
SWEEP_METRICS = (
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown",
    "volatility",
    "num_trades",
    "win_rate",
    "profit_factor",
    "winning_trades",
    "losing_trades",
    "exposure",
)
BATCHES = 8  # progress reports of a large sweep (each batch one parallel pass)
_BATCH_MIN = 2_000


def _rows(data: BarData, name: str, periods: FloatArray) -> FloatArray:
    """One indicator row per distinct period (``periods`` sorted, distinct)."""
    out = np.empty((periods.size, len(data)))
    for r, p in enumerate(periods):
        out[r] = get_indicator(name).compute(data, {"period": int(p)})[0]
    return out


def _inputs(grid: Grid, data: BarData) -> tuple[tuple[FloatArray, FloatArray], IntArray, FloatArray]:
    """(indicator rows, row indices per combination, values per combination) for the kernel."""
    m = len(grid)
    idx = np.zeros((m, 2), dtype=np.int64)
    val = np.zeros((m, 2))
    empty = np.empty((0, len(data)))
    if grid.strategy == "sma_cross":
        fast, slow = grid.column("fast"), grid.column("slow")
        periods = np.unique(np.concatenate([fast, slow]))
        idx[:, 0], idx[:, 1] = np.searchsorted(periods, fast), np.searchsorted(periods, slow)
        val[:, 0] = slow
        return (_rows(data, "sma", periods), empty), idx, val
    if grid.strategy == "rsi_reversion":
        period = grid.column("period")
        periods = np.unique(period)
        idx[:, 0] = np.searchsorted(periods, period)
        val[:, 0], val[:, 1] = grid.column("oversold"), grid.column("overbought")
        return (_rows(data, "rsi", periods), empty), idx, val
    period = grid.column("period")
    periods = np.unique(period)
    idx[:, 0] = np.searchsorted(periods, period)
    val[:, 0] = grid.column("nbdev")
    mean, std = np.empty((periods.size, len(data))), np.empty((periods.size, len(data)))
    for r, p in enumerate(periods):  # the rolling mean and std the bands are built from
        mean[r], std[r] = close_mean_std(data, int(p))
    return (mean, std), idx, val


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``metrics._ratio`` element-wise: NaN where it gives None."""
    ok = (den != 0.0) & np.isfinite(num) & np.isfinite(den)
    out: FloatArray = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out


def _annual(initial: float, final: FloatArray, returns: int, per_year: float) -> FloatArray:
    """``metrics.annual_return`` element-wise: geometric, -1 at equity 0, 0 without a return."""
    if returns <= 0:
        return np.zeros(final.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        grown: FloatArray = np.expm1(np.log(final / initial) * per_year / returns)
    return np.where(final <= 0.0, -1.0, grown)


def metrics_from_stats(stats: FloatArray, bars: int, config: BacktestConfig) -> dict[str, FloatArray]:
    """The :data:`SWEEP_METRICS` of every combination as columns (NaN where ``metrics.py`` says
    None), from the kernel's statistics over ``bars`` bars."""
    initial, per_year = float(config.initial_capital), config.bars_per_year
    final = stats[:, sk.S_FINAL]
    annual = _annual(initial, final, bars - 1, per_year)
    max_dd = stats[:, sk.S_MAXDD]
    root = math.sqrt(per_year)
    trades = stats[:, sk.S_TRADES]
    std = stats[:, sk.S_STD]
    return {
        "total_return": final / initial - 1.0,
        "annual_return": annual,
        "sharpe_ratio": _ratio(stats[:, sk.S_MEAN], std) * root,
        "sortino_ratio": _ratio(stats[:, sk.S_MEAN], stats[:, sk.S_DOWN]) * root,
        "calmar_ratio": _ratio(annual, np.abs(max_dd)),
        "max_drawdown": np.minimum(max_dd, 0.0),
        "volatility": np.where(np.isfinite(std), std * root, np.nan),
        "num_trades": trades,
        "win_rate": _ratio(stats[:, sk.S_WINS], trades),
        "profit_factor": _ratio(stats[:, sk.S_WIN_SUM], -stats[:, sk.S_LOSS_SUM]),
        "winning_trades": stats[:, sk.S_WINS],
        "losing_trades": stats[:, sk.S_LOSSES],
        "exposure": stats[:, sk.S_HELD] / bars if bars else np.zeros(len(stats)),
    }


def fast_sweep(
    grid: Grid,
    arrays: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    data: BarData,
    config: BacktestConfig,
    *,
    start: int,
    blocks: tuple[int, int],
    progress: Progress,
) -> tuple[dict[str, FloatArray], FloatArray]:
    """(metric columns, CSCV block sums: ``2 * blocks[0]`` columns of ``blocks[1]`` returns each)
    of every combination of ``grid`` traded from bar ``start``."""
    progress(0.0, f"indicators for {len(grid):,} combinations")
    indicators, idx, val = _inputs(grid, data)
    m = len(grid)
    per_batch = max(_BATCH_MIN, math.ceil(m / BATCHES))
    stats = np.empty((m, sk.N_STATS))
    sums = np.empty((m, 2 * blocks[0]))
    costs = (
        float(config.initial_capital),
        float(config.commission),
        float(config.slippage),
        float(config.stop_loss or 0.0),
        float(config.take_profit or 0.0),
    )
    workers = 4 * (os.cpu_count() or 1)
    for first in range(0, m, per_batch):
        last = min(m, first + per_batch)
        stats[first:last], sums[first:last] = sk.sweep(
            arrays,
            start,
            FAST_STRATEGIES[grid.strategy],
            indicators,
            idx[first:last],
            val[first:last],
            lo=-1.0 if config.allow_short else 0.0,
            size=float(config.position_size),
            costs=costs,
            workers=workers,
            block_size=blocks[1],
            blocks=blocks[0],
        )
        progress(100.0 * last / m, f"{last:,} of {m:,} combinations")
    return metrics_from_stats(stats, arrays[0].size - start, config), sums


def as_metric(value: Any) -> Any:
    """A metric column's value as ``metrics.py`` gives it: None for NaN, ints for counts."""
    v = float(value)
    return None if math.isnan(v) else v
