"""Single-pass compiled helpers for the engine's input checks and curve metrics.

On millions of bars each numpy expression is a full pass plus a temporary array; these fuse the
passes (the checks and metrics cost less than the simulation itself).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "block_sums",
    "count_bad_prices",
    "curve_stats",
    "curve_stats_blocks",
    "is_strictly_increasing",
    "to_exposure",
    "trade_stats",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_jit = njit(cache=True, nogil=True)


# The checks count instead of returning early: a loop without an exit vectorizes (4x faster).
def _count_bad_prices_impl(x: FloatArray) -> int:
    """How many values are not finite numbers > 0."""
    ok = 0
    for i in range(x.size):
        ok += (x[i] > 0.0) & (x[i] < math.inf)
    return x.size - ok


def _is_strictly_increasing_impl(ts: IntArray) -> bool:
    bad = 0
    for i in range(1, ts.size):
        bad += ts[i] <= ts[i - 1]
    return bad == 0


def _to_exposure_impl(target: FloatArray, lo: float, size: float, out: FloatArray) -> None:
    for i in range(target.size):
        v = target[i]
        if v != v:
            v = 0.0
        elif v > 1.0:
            v = 1.0
        elif v < lo:
            v = lo
        out[i] = v * size


def _block_sums_impl(equity: FloatArray, size: int, sums: FloatArray) -> None:
    """Sums of bar returns (non-finite as 0) and of their squares over ``sums.size // 2`` blocks of
    ``size`` consecutive returns (CSCV's blocks; the returns past the last block are left out)."""
    blocks = sums.size // 2
    for b in range(blocks):
        s1 = 0.0
        s2 = 0.0
        for t in range(b * size, (b + 1) * size):
            r = equity[t + 1] / equity[t] - 1.0
            if not np.isfinite(r):
                r = 0.0
            s1 += r
            s2 += r * r
        sums[b] = s1
        sums[blocks + b] = s2


def _curve_stats_blocks_impl(
    equity: FloatArray, position: FloatArray, initial: float, block_size: int, sums: FloatArray
) -> tuple[float, float, float, float, int]:
    """(mean, sample std, downside deviation below 0) of bar returns, max drawdown, bars in market;
    and into ``sums`` (2 * S values, S >= 0) :func:`block_sums` of S blocks of ``block_size`` returns,
    taken from the returns this pass computes anyway: the bars are walked block by block, so the
    loop adds two sums and no branch; a block with a non-finite return (a curve at 0) is summed again
    the guarded way."""
    n = equity.size
    blocks = sums.size // 2
    # Sums of returns shifted by the first one (exact enough for returns, and no division in the
    # loop-carried chain, which would bound the loop at ~15 cycles a bar).
    shift = equity[1] / equity[0] - 1.0 if n > 1 else 0.0
    s1 = 0.0
    s2 = 0.0
    down = 0.0
    peak = initial
    floor = initial  # equity below this is a new maximum drawdown: peak * (1 + max_dd)
    max_dd = 0.0
    held = 0
    prev = initial
    lo = 0
    finite = True
    for block in range(blocks + 1):  # block b holds the returns of bars b * size + 1 .. (b + 1) * size
        hi = n if block == blocks else (block + 1) * block_size + 1
        b1 = 0.0
        b2 = 0.0
        for i in range(lo, hi):
            e = equity[i]
            if i > 0:
                r = e / prev - 1.0
                d = r - shift
                s1 += d
                s2 += d * d
                down += min(r, 0.0) ** 2
                b1 += r
                b2 += r * r
            prev = e
            if e > peak:
                peak = e
                floor = peak * (1.0 + max_dd)
            elif e < floor:
                max_dd = e / peak - 1.0
                floor = e
            held += position[i] != 0.0
        if block < blocks:
            sums[block] = b1
            sums[blocks + block] = b2
            finite = finite and math.isfinite(b1) and math.isfinite(b2)
        lo = hi
    if not finite:
        block_sums(equity, block_size, sums)
    n_ret = n - 1
    mean = shift + s1 / n_ret if n_ret > 0 else 0.0
    std = math.sqrt(max(s2 - s1 * s1 / n_ret, 0.0) / (n_ret - 1)) if n_ret > 1 else 0.0
    downside = math.sqrt(down / n_ret) if n_ret > 0 else 0.0
    return mean, std, downside, max_dd, held


def _curve_stats_impl(
    equity: FloatArray, position: FloatArray, initial: float
) -> tuple[float, float, float, float, int]:
    """(mean, sample std, downside deviation below 0) of bar returns, max drawdown, bars in market."""
    return curve_stats_blocks(equity, position, initial, 0, np.empty(0))


def _trade_stats_impl(
    trades: FloatArray, timestamps_ns: IntArray
) -> tuple[int, float, int, float, float, float]:
    """(wins, sum of wins, losses, sum of losses, mean bars held, mean seconds held) in one pass.

    Column indices as in ``_kernel`` (entry 0, exit 1, pnl 6, reason 8; reason 0 = signal exit,
    which leaves the exit bar out of the bars held)."""
    wins = 0
    losses = 0
    win_sum = 0.0
    loss_sum = 0.0
    bars = 0.0
    seconds = 0.0
    n = trades.shape[0]
    for j in range(n):
        pnl = trades[j, 6]
        if pnl > 0.0:
            wins += 1
            win_sum += pnl
        elif pnl < 0.0:
            losses += 1
            loss_sum += pnl
        entry = np.int64(trades[j, 0])
        exit_ = np.int64(trades[j, 1])
        bars += exit_ - entry + (trades[j, 8] != 0.0)
        seconds += (timestamps_ns[exit_] - timestamps_ns[entry]) / 1e9
    if n == 0:
        return 0, 0.0, 0, 0.0, math.nan, math.nan
    return wins, win_sum, losses, loss_sum, bars / n, seconds / n


count_bad_prices = _jit(_count_bad_prices_impl)
trade_stats = _jit(_trade_stats_impl)
is_strictly_increasing = _jit(_is_strictly_increasing_impl)
to_exposure = _jit(_to_exposure_impl)
block_sums = _jit(_block_sums_impl)
curve_stats_blocks = _jit(_curve_stats_blocks_impl)
curve_stats = _jit(_curve_stats_impl)
