"""The sweep's compiled pass: every combination's targets, fills and statistics, in parallel.

Each combination builds its target series from indicator rows computed once per distinct parameter
value, turns it into exposures as the engine's ``to_exposure`` does, and trades it with the
engine's own fill helpers (``_kernel._rebalance``, ``_close``, ``_intrabar_exit``) in the very loop
``_kernel._simulate_impl`` runs: same fills, fees, stops and end-of-data mark. Instead of keeping
trades it accumulates their counts and sums, and the curve's statistics come from the engine's
``curve_stats``, so each combination's metrics equal ``run_backtest``'s. The bar returns' sums per
block are kept too, in that same pass over the curve, for the probability of backtest over-fitting
(CSCV needs nothing else).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from pipelines.backtest import _fast
from pipelines.backtest import _kernel as k

__all__ = ["KIND_BOLLINGER", "KIND_RSI", "KIND_SMA", "N_STATS", "S_FINAL", "sweep"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KIND_SMA, KIND_RSI, KIND_BOLLINGER = 0, 1, 2
# Columns of the statistics matrix.
S_FINAL, S_MEAN, S_STD, S_DOWN, S_MAXDD, S_HELD = 0, 1, 2, 3, 4, 5
S_TRADES, S_WINS, S_WIN_SUM, S_LOSSES, S_LOSS_SUM = 6, 7, 8, 9, 10
N_STATS = 11

_jit = njit(cache=True, nogil=True)
_curve_stats = _fast.curve_stats_blocks
_close = k._close
_rebalance = k._rebalance
_intrabar_exit = k._intrabar_exit


def _expose_impl(v: float, lo: float, size: float) -> float:
    """``_fast.to_exposure`` of one value."""
    if v != v:
        v = 0.0
    elif v > 1.0:
        v = 1.0
    elif v < lo:
        v = lo
    return v * size


_expose = _jit(_expose_impl)


def _target_impl(
    kind: int,
    j: int,
    ind_a: FloatArray,
    ind_b: FloatArray,
    idx: IntArray,
    val: FloatArray,
    close: FloatArray,
    lo: float,
    size: float,
    out: FloatArray,
) -> None:
    """Combination ``j``'s targets, as the registered strategy computes them, written as the
    exposures ``to_exposure`` makes of them (clipped to [lo, 1], times ``size``)."""
    n = out.size
    if kind == KIND_SMA:  # long while SMA(fast) > SMA(slow), short below; 0 in the slow's warm-up
        f = ind_a[idx[j, 0]]
        s = ind_a[idx[j, 1]]
        warm = int(val[j, 0]) - 1
        for i in range(n):
            out[i] = _expose(0.0 if i < warm else (1.0 if f[i] > s[i] else -1.0), lo, size)
    elif kind == KIND_RSI:  # the latch: +1 below oversold, -1 above overbought, held between
        r = ind_a[idx[j, 0]]
        low = val[j, 0]
        high = val[j, 1]
        state = 0.0
        for i in range(n):
            if r[i] < low:
                state = 1.0
            elif r[i] > high:
                state = -1.0
            out[i] = _expose(state, lo, size)
    else:  # Bollinger breakout: bands mean +/- nbdev * std, exits at the middle
        mean = ind_a[idx[j, 0]]
        std = ind_b[idx[j, 0]]
        nbdev = val[j, 0]
        state = 0.0
        for i in range(n):
            c = close[i]
            m = mean[i]
            if (state > 0.0 and c < m) or (state < 0.0 and c > m):
                state = 0.0
            if state == 0.0:
                band = std[i] * nbdev
                if c > band + m:
                    state = 1.0
                elif c < m - band:
                    state = -1.0
            out[i] = _expose(state, lo, size)


_target = _jit(_target_impl)


def _count_trade(stats: FloatArray, pnl: float) -> None:
    stats[S_TRADES] += 1.0
    if pnl > 0.0:
        stats[S_WINS] += 1.0
        stats[S_WIN_SUM] += pnl
    elif pnl < 0.0:
        stats[S_LOSSES] += 1.0
        stats[S_LOSS_SUM] += pnl


_count = _jit(_count_trade)


def _trade_impl(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    target: FloatArray,
    initial: float,
    rate: float,
    slip: float,
    stop_loss: float,
    take_profit: float,
    st: FloatArray,
    row: FloatArray,
    equity: FloatArray,
    position: FloatArray,
    stats: FloatArray,
    block_size: int,
    sums: FloatArray,
) -> None:
    """``_kernel.simulate`` of ``target``, counting trades into ``stats`` instead of keeping them, and
    the curve's CSCV block sums into ``sums`` (``_fast.curve_stats_blocks``; none when empty).
    Long because it is one compiled loop over the bars with its arguments spelled out for numba."""
    n = open_.size
    st[:] = 0.0
    st[k.CASH] = initial
    stats[:] = 0.0
    cash = initial
    units = 0.0
    side = 0.0
    last_tgt = 0.0
    stops = stop_loss > 0.0 or take_profit > 0.0
    for i in range(n):
        if i > 0 and target[i - 1] != last_tgt:
            tgt = target[i - 1]
            last_tgt = tgt
            st[k.LAST_TGT] = tgt
            if units != 0.0 and (tgt == 0.0 or (tgt > 0.0) != (side > 0.0)):
                _close(st, row, 0, i, open_[i], slip, rate, k.REASON_SIGNAL)
                _count(stats, row[0, k.T_PNL])
            _rebalance(st, i, tgt, open_[i], slip, rate)
            cash = st[k.CASH]
            units = st[k.UNITS]
            side = st[k.SIDE]
        if stops and units != 0.0:
            reason, price = _intrabar_exit(st, open_[i], high[i], low[i], stop_loss, take_profit)
            if reason >= 0:
                _close(st, row, 0, i, price, slip, rate, reason)
                _count(stats, row[0, k.T_PNL])
                cash = st[k.CASH]
                units = 0.0
                side = 0.0
        equity[i] = cash + units * close[i]
        position[i] = units
    if n > 0 and st[k.UNITS] != 0.0:
        _close(st, row, 0, n - 1, close[n - 1], slip, rate, k.REASON_END)
        _count(stats, row[0, k.T_PNL])
    mean, std, down, max_dd, held = _curve_stats(equity, position, initial, block_size, sums)
    stats[S_FINAL] = equity[n - 1] if n > 0 else initial
    stats[S_MEAN] = mean
    stats[S_STD] = std
    stats[S_DOWN] = down
    stats[S_MAXDD] = max_dd
    stats[S_HELD] = held


_trade = _jit(_trade_impl)


def _sweep_impl(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    start: int,
    kind: int,
    ind_a: FloatArray,
    ind_b: FloatArray,
    idx: IntArray,
    val: FloatArray,
    lo: float,
    size: float,
    initial: float,
    rate: float,
    slip: float,
    stop_loss: float,
    take_profit: float,
    workers: int,
    block_size: int,
    stats: FloatArray,
    blocks: FloatArray,
) -> None:
    """Every combination (row of ``idx``/``val``) traded from bar ``start``; combinations are split
    across ``workers`` parallel loops, each with its own buffers."""
    n = close.size
    m = idx.shape[0]
    for w in prange(workers):
        exposure = np.empty(n)
        equity = np.empty(n - start)
        position = np.empty(n - start)
        st = np.zeros(k.N_STATE)
        row = np.empty((1, k.N_FIELDS))
        for j in range(w, m, workers):
            _target(kind, j, ind_a, ind_b, idx, val, close, lo, size, exposure)
            _trade(
                open_[start:],
                high[start:],
                low[start:],
                close[start:],
                exposure[start:],
                initial,
                rate,
                slip,
                stop_loss,
                take_profit,
                st,
                row,
                equity,
                position,
                stats[j],
                block_size,
                blocks[j],
            )


_sweep = njit(cache=True, nogil=True, parallel=True)(_sweep_impl)


def sweep(
    bars: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    start: int,
    kind: int,
    indicators: tuple[FloatArray, FloatArray],
    idx: IntArray,
    val: FloatArray,
    *,
    lo: float,
    size: float,
    costs: tuple[float, float, float, float, float],
    workers: int,
    block_size: int,
    blocks: int,
) -> tuple[FloatArray, FloatArray]:
    """(statistics ``N_STATS`` per combination, return sums per block: ``2 * blocks`` columns).
    ``costs``: initial capital, commission, slippage, stop-loss, take-profit (0 = off)."""
    m = idx.shape[0]
    stats = np.zeros((m, N_STATS))
    sums = np.zeros((m, 2 * blocks))
    initial, rate, slip, stop_loss, take_profit = costs
    open_, high, low, close = bars
    _sweep(
        open_,
        high,
        low,
        close,
        start,
        kind,
        indicators[0],
        indicators[1],
        idx,
        val,
        lo,
        size,
        initial,
        rate,
        slip,
        stop_loss,
        take_profit,
        max(1, min(workers, m)),
        block_size,
        stats,
        sums,
    )
    return stats, sums
