"""Single-pass compiled helpers for the engine's input checks and curve metrics.

On millions of bars each numpy expression is a full pass plus a temporary array; these fuse the
passes (the checks and metrics cost less than the simulation itself).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["count_bad_prices", "curve_stats", "is_strictly_increasing", "to_exposure", "trade_stats"]

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


def _curve_stats_impl(
    equity: FloatArray, position: FloatArray, initial: float
) -> tuple[float, float, float, float, int]:
    """(mean, sample std, downside deviation below 0) of bar returns, max drawdown, bars in market."""
    n = equity.size
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
    for i in range(n):
        e = equity[i]
        if i > 0:
            r = e / prev - 1.0
            d = r - shift
            s1 += d
            s2 += d * d
            down += min(r, 0.0) ** 2
        prev = e
        if e > peak:
            peak = e
            floor = peak * (1.0 + max_dd)
        elif e < floor:
            max_dd = e / peak - 1.0
            floor = e
        held += position[i] != 0.0
    n_ret = n - 1
    mean = shift + s1 / n_ret if n_ret > 0 else 0.0
    std = math.sqrt(max(s2 - s1 * s1 / n_ret, 0.0) / (n_ret - 1)) if n_ret > 1 else 0.0
    downside = math.sqrt(down / n_ret) if n_ret > 0 else 0.0
    return mean, std, downside, max_dd, held


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
curve_stats = _jit(_curve_stats_impl)
