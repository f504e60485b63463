"""Replay recorded bars through a :class:`~pipelines.trading.runner.StrategyRunner` in batch.

Strategies are causal, so the targets of a whole batch are computed at once; Python then steps
only where something happens: a bar whose pending target changed (the runner's
``act_at_open``) or a bar touching the open position's stop-loss / take-profit level (found with
numpy, then resolved by the runner's ``check_exits``). Between events the position is constant,
so the equity curve is filled with the kernel's own expression, ``cash + units * close``. The
per-event arithmetic is the runner's, i.e. the kernel's: a replay equals ``run_backtest``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

from pipelines.backtest import _kernel as k
from pipelines.backtest.engine import bar_arrays, to_exposure
from pipelines.trading.runner import PlannedOrder, StrategyRunner
from pipelines.trading.window import Bar

__all__ = ["ReplayResult", "replay"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ReplayResult:
    """Equity and position at each replayed bar's close, and the orders planned, in order."""

    equity: FloatArray
    position: FloatArray
    orders: list[PlannedOrder]


def _first_exit_impl(
    st: FloatArray,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    a: int,
    b: int,
    stop: float,
    take: float,
) -> int:
    """The first bar in [a, b) where the kernel's own ``_intrabar_exit`` fires for the open
    position, or -1 (a compiled scan: between events the position and its levels are fixed)."""
    for j in range(a, b):
        reason, _ = _intrabar_exit(st, open_[j], high[j], low[j], stop, take)
        if reason >= 0:
            return j
    return -1


def _mark_impl(
    equity: FloatArray, position: FloatArray, close: FloatArray, a: int, b: int, cash: float, units: float
) -> None:
    """Equity and position over [a, b) of a constant position: the kernel's own expression."""
    for j in range(a, b):
        equity[j] = cash + units * close[j]
        position[j] = units


_intrabar_exit = k._intrabar_exit
_first_exit = njit(cache=True, nogil=True)(_first_exit_impl)
_mark = njit(cache=True, nogil=True)(_mark_impl)


def _signal_bars(runner: StrategyRunner, exposure: FloatArray) -> npt.NDArray[np.int64]:
    """Batch positions where the pending target differs from the last one acted on."""
    prev = np.concatenate(([runner.pending], exposure[:-1]))  # the target pending at each bar
    acted = np.concatenate(([runner.st[k.LAST_TGT]], prev[:-1]))
    change = prev != acted
    change[1:] = prev[1:] != prev[:-1]
    if runner.count == 0:
        change[0] = False
    return np.flatnonzero(change)


def replay(runner: StrategyRunner, bars: pd.DataFrame) -> ReplayResult:
    """Advance ``runner`` over ``bars`` (newer than its last bar), as ``on_bar`` would bar by bar."""
    ts, open_, high, low, close = bar_arrays(bars)
    n = ts.size
    window = runner.window_frame()
    history = pd.concat([window, bars[list(window.columns)]], ignore_index=True) if len(window) else bars
    raw = runner.strategy_targets(history)[len(window) :]
    exposure = to_exposure(raw, n, runner.config.backtest)
    signals = _signal_bars(runner, exposure)
    stop, take = runner.kernel_stops
    stops = stop > 0.0 or take > 0.0
    equity, position = np.empty(n), np.empty(n)
    orders: list[PlannedOrder] = []
    base = runner.count
    st = runner.st
    sig = [*signals.tolist(), n]  # the bars where a target change trades, then a sentinel
    i, s = 0, 0
    while i < n:
        while sig[s] < i:
            s += 1
        end = sig[s]
        if end == i:  # a target change: trade it at this bar's open
            runner.count = base + i
            if i > 0:
                runner.pending = float(exposure[i - 1])
            orders += runner.act_at_open(int(ts[i]), float(open_[i]))
            end = sig[s + 1]
        touch = -1
        if stops and st[k.UNITS] != 0.0:
            touch = _first_exit(st, open_, high, low, i, end, stop, take)
        if touch < 0:
            _mark(equity, position, close, i, end, st[k.CASH], st[k.UNITS])
            i = end
            continue
        _mark(equity, position, close, i, touch, st[k.CASH], st[k.UNITS])
        runner.count = base + touch
        orders += runner.check_exits(
            int(ts[touch]), float(open_[touch]), float(high[touch]), float(low[touch])
        )
        _mark(equity, position, close, touch, touch + 1, st[k.CASH], st[k.UNITS])
        i = touch + 1
    _finish(runner, bars, base, exposure, equity)
    return ReplayResult(equity, position, orders)


def _finish(
    runner: StrategyRunner, bars: pd.DataFrame, base: int, exposure: FloatArray, equity: FloatArray
) -> None:
    """Leave the runner as ``on_bar`` would after the last bar: window, pending target, counters."""
    n = exposure.size
    if n == 0:
        return
    tail = bars.iloc[-runner.lookback :]
    ts = bar_arrays(tail)[0]
    cols = [tail[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    for t, *vals in zip(ts, *cols, strict=True):
        runner.window.append(Bar(int(t), *map(float, vals)))
    runner.pending = float(exposure[-1])
    runner.count = base + n
    runner.last_ts = int(ts[-1])
    runner.equity = float(equity[-1])
