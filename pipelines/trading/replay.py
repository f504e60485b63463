"""Replay recorded bars through a :class:`~pipelines.trading.runner.StrategyRunner` in batch.

Strategies are causal, so the targets of a whole batch are computed at once; one compiled loop then
walks the bars as ``on_bar`` would: at a bar whose pending target changed, the runner's
``act_at_open`` (a close leg on a side change, then the leg to the target), then the open position's
stop-loss / take-profit check (``check_exits``), then the equity at the close, ``cash + units *
close``. The arithmetic is the kernel's own compiled functions (``_rebalance``, ``_close``,
``_intrabar_exit``) on the runner's state array, in the runner's order, so a replay equals
``run_backtest``; the loop writes the legs and closed trades into arrays, and the planned orders are
built from them at the end (a Python call per event cost more than the whole compiled loop).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

from pipelines.backtest import _kernel as k
from pipelines.backtest.engine import bar_arrays, to_exposure
from pipelines.trading.broker import OrderType
from pipelines.trading.runner import LEGS, PlannedOrder, RunnerConfig, StrategyRunner
from pipelines.trading.window import Bar

__all__ = ["ENTER", "RESIZE", "ReplayLegs", "ReplayResult", "collector_paused", "replay"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A leg's code in the compiled loop: enter, resize, then the closing legs by the kernel's reason.
ENTER, RESIZE, _CLOSE = -2, -1, 0
LEG_NAMES = {ENTER: "enter", RESIZE: "resize", **{_CLOSE + r: name for r, name in LEGS.items()}}
KINDS = {k.REASON_STOP: OrderType.STOP, k.REASON_TAKE_PROFIT: OrderType.LIMIT}


@dataclass(frozen=True)
class ReplayLegs:
    """The legs a replay planned, in order, as arrays: the bar's open time (ns) and its prices, the
    leg's code (``ENTER``, ``RESIZE``, or a closing leg's kernel reason), signed units (+
    buys) and price before slippage (the open, or a stop / take-profit's level)."""

    config: RunnerConfig
    ts: IntArray
    code: IntArray
    units: FloatArray
    price: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray

    def __len__(self) -> int:
        return int(self.ts.size)

    def planned(self, j: int) -> PlannedOrder:
        """Leg ``j`` as the runner's planned order."""
        code = int(self.code[j])
        kind = KINDS.get(code, OrderType.MARKET)
        units, price = float(self.units[j]), float(self.price[j])
        return PlannedOrder(self.config, int(self.ts[j]), LEG_NAMES[code], units, price, kind)


@dataclass(frozen=True)
class ReplayResult:
    """Equity and position at each replayed bar's close, and the legs planned, in order (``orders``:
    as planned orders, built when first asked for)."""

    equity: FloatArray
    position: FloatArray
    legs: ReplayLegs

    @cached_property
    def orders(self) -> list[PlannedOrder]:
        with collector_paused():
            return _planned(self.legs)


def _events_impl(
    st: FloatArray,
    ts: IntArray,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    pending: FloatArray,
    base: int,
    slip: float,
    rate: float,
    stop: float,
    take: float,
    entry_ts: int,
    equity: FloatArray,
    position: FloatArray,
    legs: FloatArray,
    trades: FloatArray,
    times: IntArray,
) -> tuple[int, int, int]:
    """Walk the bars (``pending[i]``: the target pending at bar i's open); write each leg as a row
    (bar index, code, units, price) of ``legs``, each closed trade as a kernel row of ``trades`` with its
    (entry, exit) open times in ``times``. Returns (legs, trades written, the open trade's entry time).

    Long because it is one compiled loop over the bars (numba): split, each event would cross back into
    Python, which is what this loop exists to avoid."""
    n = open_.size
    nl = 0
    nt = 0
    stops = stop > 0.0 or take > 0.0
    for i in range(n):
        tgt = pending[i]
        if base + i != 0 and tgt != st[k.LAST_TGT]:  # act_at_open
            if st[k.UNITS] != 0.0 and (tgt == 0.0 or (tgt > 0.0) != (st[k.SIDE] > 0.0)):
                units = st[k.UNITS]
                k._close(st, trades, nt, base + i, open_[i], slip, rate, k.REASON_SIGNAL)
                times[nt, 0] = entry_ts
                times[nt, 1] = ts[i]
                nt += 1
                legs[nl, 0], legs[nl, 1], legs[nl, 2], legs[nl, 3] = (
                    i,
                    _CLOSE + k.REASON_SIGNAL,
                    -units,
                    open_[i],
                )
                nl += 1
            before = st[k.UNITS]
            if before == 0.0:
                entry_ts = ts[i]
            k._rebalance(st, base + i, tgt, open_[i], slip, rate)
            st[k.LAST_TGT] = tgt
            delta = st[k.UNITS] - before
            if delta != 0.0:
                legs[nl, 0], legs[nl, 2], legs[nl, 3] = i, delta, open_[i]
                legs[nl, 1] = ENTER if before == 0.0 else RESIZE
                nl += 1
        if stops and st[k.UNITS] != 0.0:  # check_exits
            reason, price = k._intrabar_exit(st, open_[i], high[i], low[i], stop, take)
            if reason >= 0:
                units = st[k.UNITS]
                k._close(st, trades, nt, base + i, price, slip, rate, reason)
                times[nt, 0] = entry_ts
                times[nt, 1] = ts[i]
                nt += 1
                legs[nl, 0], legs[nl, 1], legs[nl, 2], legs[nl, 3] = i, _CLOSE + reason, -units, price
                nl += 1
        equity[i] = st[k.CASH] + st[k.UNITS] * close[i]
        position[i] = st[k.UNITS]
    return nl, nt, entry_ts


_events = njit(cache=True, nogil=True)(_events_impl)


def replay(runner: StrategyRunner, bars: pd.DataFrame) -> ReplayResult:
    """Advance ``runner`` over ``bars`` (newer than its last bar), as ``on_bar`` would bar by bar."""
    ts, open_, high, low, close = bar_arrays(bars)
    n = ts.size
    window = runner.window.frame()
    history = pd.concat([window, bars[list(window.columns)]], ignore_index=True) if len(window) else bars
    raw = runner.strategy_targets(history)[len(window) :]
    exposure = to_exposure(raw, n, runner.config.backtest)
    pending = np.concatenate(([runner.pending], exposure[:-1])) if n else exposure
    changes = int(np.count_nonzero(pending[1:] != pending[:-1])) + 2 if n else 0
    legs, trades = np.empty((3 * changes, 4)), np.empty((2 * changes, k.N_FIELDS))
    times = np.empty((2 * changes, 2), dtype=np.int64)
    equity, position = np.empty(n), np.empty(n)
    stop, take = runner.kernel_stops
    slip, rate = float(runner.config.backtest.slippage), float(runner.config.backtest.commission)
    nl, nt, runner._entry_ts = _events(
        runner.st,
        ts,
        open_,
        high,
        low,
        close,
        pending,
        runner.count,
        slip,
        rate,
        stop,
        take,
        runner._entry_ts,
        equity,
        position,
        legs,
        trades,
        times,
    )
    StrategyRunner.trades.defer(runner, trades[:nt].copy())  # made into rows when read
    StrategyRunner.trade_times.defer(runner, times[:nt].copy())
    at = legs[:nl, 0].astype(np.int64)
    planned = ReplayLegs(
        runner.config,
        ts[at],
        legs[:nl, 1].astype(np.int64),
        legs[:nl, 2],
        legs[:nl, 3],
        open_[at],
        high[at],
        low[at],
        close[at],
    )
    _finish(runner, bars, exposure, equity)
    return ReplayResult(equity, position, planned)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a batch builds many records that form no
    cycles (reference counting frees them): tens of thousands of new objects that live on set off
    full collections, each walking every object of the process (about 0.15 s in a process with
    pandas and numba loaded), more than the batch itself. Re-enabled only if it was enabled."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _planned(legs: ReplayLegs) -> list[PlannedOrder]:
    """The planned orders of the loop's legs, in order."""
    cfg, market = legs.config, OrderType.MARKET
    return [
        PlannedOrder(cfg, t, LEG_NAMES[code], units, price, KINDS.get(code, market))
        for t, code, units, price in zip(
            legs.ts.tolist(), legs.code.tolist(), legs.units.tolist(), legs.price.tolist(), strict=True
        )
    ]


def _finish(runner: StrategyRunner, bars: pd.DataFrame, exposure: FloatArray, equity: FloatArray) -> None:
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
    runner.count += n
    runner.last_ts = int(ts[-1])
    runner.equity = float(equity[-1])
