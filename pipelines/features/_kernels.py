"""Generic numba kernels: seeded EMA, rolling sum, rolling mean/std, rolling extremes, WMA.

Each kernel is a typed Python function compiled with ``njit(cache=True, nogil=True)`` and called
through a typed wrapper, so mypy checks every caller and numba caches the machine code on disk.
Kernels are few and generic to keep the cold compile short. Every kernel starts at the first
non-NaN value of its input, as TA-Lib's Python wrapper does, so an indicator of an indicator (the
EMA of the MACD line) needs no special case. Inputs are C-contiguous float64 arrays: the bar
columns read-only, intermediate series writable (numba compiles one specialisation for each).

Running sums are re-computed from scratch every ``RESYNC`` steps so rounding cannot drift over
millions of bars; the rolling variance uses Welford's add/remove update, never E[x²]-E[x]².
Kernels write into arrays their callers allocate with numpy (a row of the final feature block when
possible): numpy asks the kernel for huge pages on large allocations, numba's allocator does not,
and page faults on fresh memory cost more than most kernels themselves. Recursions multiply by
precomputed constants instead of dividing (a division in a loop-carried chain costs ~15 cycles per
bar); results differ from TA-Lib's by a few ulps, which do not grow.

Every kernel also takes ``(start, state)`` and returns whether it got past its warm-up: ``start`` 0
is the full run, which leaves its loop-carried values in ``state``; a later start resumes from them
(see ``_tape``, which the wrappers call through).
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from numba import njit

from pipelines.features._tape import FloatArray, run_kernel

__all__ = [
    "RESYNC",
    "FloatArray",
    "IntArray",
    "cumsum",
    "ema",
    "first_valid",
    "jit",
    "jit_fma",
    "rolling_extreme",
    "rolling_mean_std",
    "rolling_sum",
    "wma",
]

IntArray: TypeAlias = npt.NDArray[np.int64]

jit = njit(cache=True, nogil=True)
# For EMA-like recursions: fusing x*a + y into one FMA halves the loop-carried latency (the bound
# on their speed); FMA rounds once instead of twice, so results only get more accurate.
jit_fma = njit(cache=True, nogil=True, fastmath={"contract"})
RESYNC = 1024


def _first_valid_impl(x: FloatArray) -> int:
    for i in range(x.size):
        if not np.isnan(x[i]):
            return i
    return x.size


_first_valid = jit(_first_valid_impl)


def _nan_head_impl(out: FloatArray, head: int) -> None:
    """Set the first ``head`` values (the warm-up) to NaN."""
    out[: min(head, out.size)] = np.nan


_nan_head = jit(_nan_head_impl)


def _ema_impl(
    x: FloatArray, seed_len: int, alpha: float, out: FloatArray, start: int, state: FloatArray
) -> bool:
    n = x.size
    beta = 1.0 - alpha
    if start:
        prev = state[0]
        begin = start
    else:
        s = _first_valid(x)
        _nan_head(out, s + seed_len - 1)
        if n - s < seed_len:
            return False
        acc = 0.0
        for i in range(s, s + seed_len):
            acc += x[i]
        prev = acc / seed_len
        out[s + seed_len - 1] = prev
        begin = s + seed_len
    for i in range(begin, n):
        prev = prev * beta + x[i] * alpha
        out[i] = prev
    state[0] = prev
    return True


_ema = jit_fma(_ema_impl)


def _rolling_sum_impl(
    x: FloatArray, w: int, scale: float, out: FloatArray, start: int, state: FloatArray
) -> bool:
    n = x.size
    if start:
        acc = state[0]
        countdown = int(state[1])
        begin = start
    else:
        s = _first_valid(x)
        _nan_head(out, s + w - 1)
        if n - s < w:
            return False
        acc = 0.0
        for i in range(s, s + w):
            acc += x[i]
        out[s + w - 1] = acc * scale
        countdown = RESYNC
        begin = s + w
    for i in range(begin, n):
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            acc = 0.0
            for j in range(i - w + 1, i + 1):
                acc += x[j]
        else:
            acc += x[i] - x[i - w]
        out[i] = acc * scale
    state[0] = acc
    state[1] = countdown
    return True


_rolling_sum = jit(_rolling_sum_impl)


def _rolling_mean_std_impl(
    x: FloatArray,
    w: int,
    ddof: int,
    mean_out: FloatArray,
    std_out: FloatArray,
    nbdev: float,
    upper: FloatArray,
    lower: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """Rolling mean and std by Welford's add/remove update; bands mean +/- nbdev*std when given.

    The update runs on y = x - K, K being the value at the last re-sync, so the running mean of y
    is small and exactly representable even when the prices are large and the window's spread
    tiny; M2 moves by (y_in - y_out)*((y_in - new mean) + (y_out - old mean)). Every RESYNC bars
    K, the window sum and M2 are recomputed exactly (two passes). An empty ``std_out`` (or
    ``upper``/``lower``) is not written.
    """
    n = x.size
    has_std = std_out.size > 0
    bands = upper.size > 0
    inv_w = 1.0 / w
    if start:
        countdown = int(state[0])
        shift, acc, mean, m2 = state[1], state[2], state[3], state[4]
        begin = start
    else:
        s = _first_valid(x)
        head = n if (n - s < w or w - ddof <= 0) else s + w - 1
        _nan_head(mean_out, head)
        if has_std:
            _nan_head(std_out, head)
        if bands:
            _nan_head(upper, head)
            _nan_head(lower, head)
        if head == n:
            return False
        countdown = 0
        shift = acc = mean = m2 = 0.0
        begin = s + w - 1
    inv_dof = 1.0 / (w - ddof)
    for i in range(begin, n):
        if countdown == 0:
            countdown = RESYNC
            shift = x[i]
            acc = 0.0
            for j in range(i - w + 1, i + 1):
                acc += x[j] - shift
            mean = acc * inv_w
            m2 = 0.0
            for j in range(i - w + 1, i + 1):
                d = (x[j] - shift) - mean
                m2 += d * d
        else:
            y_in = x[i] - shift
            y_out = x[i - w] - shift
            acc += y_in - y_out
            new_mean = acc * inv_w
            m2 += (y_in - y_out) * ((y_in - new_mean) + (y_out - mean))
            mean = new_mean
        countdown -= 1
        std = np.sqrt(max(m2, 0.0) * inv_dof)
        centre = shift + mean
        mean_out[i] = centre
        if has_std:
            std_out[i] = std
        if bands:
            upper[i] = centre + nbdev * std
            lower[i] = centre - nbdev * std
    state[0] = countdown
    state[1] = shift
    state[2] = acc
    state[3] = mean
    state[4] = m2
    return True


_rolling_mean_std = jit(_rolling_mean_std_impl)


def _block_suffix(x: FloatArray, b: int, e: int, is_max: bool, suffix: FloatArray) -> None:
    """suffix[i - b] = the extreme of x[i:e] for the block [b, e)."""
    acc = x[e - 1]
    suffix[e - 1 - b] = acc
    for i in range(e - 2, b - 1, -1):
        acc = max(acc, x[i]) if is_max else min(acc, x[i])
        suffix[i - b] = acc


_block_suffix_jit = jit(_block_suffix)


def _rolling_extreme_impl(
    x: FloatArray, w: int, is_max: bool, out: FloatArray, start: int, state: FloatArray
) -> bool:
    """Rolling max/min by van Herk/Gil-Werman: running prefix extremes + the previous block's suffixes.

    Blocks of ``w`` bars start at the first valid value; a window spans the tail of the previous
    block and the head of the current one, so its extreme is one comparison. ~3 comparisons per
    bar, no data-dependent branches, and an O(w) buffer. ``state`` holds how far the last block
    got; a resumed run rebuilds that block's predecessor's suffixes and recomputes the block's
    head (the same values it had).
    """
    n = x.size
    suffix = np.empty(w)
    s = 0
    if start:
        first = start - int(state[0])
        _block_suffix_jit(x, first - w, first, is_max, suffix)
    else:
        s = _first_valid(x)
        _nan_head(out, s + w - 1)
        if n - s < w:
            return False
        first = s
    for b in range(first, n, w):
        e = min(b + w, n)
        acc = x[b]
        if is_max:
            for i in range(b, e):
                acc = max(acc, x[i])
                j = i - b + 1
                out[i] = max(suffix[j], acc) if j < w else acc
        else:
            for i in range(b, e):
                acc = min(acc, x[i])
                j = i - b + 1
                out[i] = min(suffix[j], acc) if j < w else acc
        _block_suffix_jit(x, b, e, is_max, suffix)
    if not start:
        _nan_head(out, s + w - 1)  # the first block wrote partial windows
    state[0] = (n - first) % w
    return True


_rolling_extreme = jit(_rolling_extreme_impl)


def _wma_impl(x: FloatArray, w: int, out: FloatArray, start: int, state: FloatArray) -> bool:
    """TA-Lib's WMA running sums (weights 1..w, newest heaviest), re-synced periodically."""
    n = x.size
    inv_divider = 2.0 / (w * (w + 1))
    if start:
        total, weighted, trailing = state[0], state[1], state[2]
        countdown = int(state[3])
        begin = start
    else:
        s = _first_valid(x)
        _nan_head(out, s + w - 1)
        if n - s < w:
            return False
        total = 0.0
        weighted = 0.0
        for k in range(w - 1):
            total += x[s + k]
            weighted += x[s + k] * (k + 1)
        trailing = 0.0
        countdown = RESYNC
        begin = s + w - 1
    for i in range(begin, n):
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            total = 0.0
            weighted = 0.0
            for k in range(w):
                total += x[i - w + 1 + k]
                weighted += x[i - w + 1 + k] * (k + 1)
        else:
            total += x[i] - trailing
            weighted += x[i] * w
        trailing = x[i - w + 1]
        out[i] = weighted * inv_divider
        weighted -= total
    state[0] = total
    state[1] = weighted
    state[2] = trailing
    state[3] = countdown
    return True


_wma = jit_fma(_wma_impl)


def _cumsum_impl(x: FloatArray, out: FloatArray, start: int, state: FloatArray) -> bool:
    """Running sum from the first valid value, in order (as ``np.cumsum``); ``out`` may be ``x``."""
    n = x.size
    if start:
        acc = state[0]
        begin = start
    else:
        s = _first_valid(x)
        _nan_head(out, s)
        if s == n:
            return False
        acc = x[s]
        out[s] = acc
        begin = s + 1
    for i in range(begin, n):
        acc += x[i]
        out[i] = acc
    state[0] = acc
    return True


_cumsum = jit(_cumsum_impl)


# --- typed wrappers: ``out`` (a fresh array when None) must not alias an input --------------------


def _out(n: int, out: FloatArray | None) -> FloatArray:
    return np.empty(n) if out is None else out


def first_valid(x: FloatArray) -> int:
    """Index of the first non-NaN value (``len(x)`` when there is none)."""
    return int(_first_valid(x))


def ema(x: FloatArray, seed_len: int, alpha: float, out: FloatArray | None = None) -> FloatArray:
    """EMA with smoothing ``alpha``, seeded with the mean of the first ``seed_len`` values.

    TA-Lib's EMA is (n, 2/(n+1)); Wilder's smoothing (RSI, ATR) is (n, 1/n); ADOSC seeds with the
    first value, (1, 2/(n+1)).
    """
    out = _out(x.size, out)
    run_kernel(_ema, (out,), 1, x, int(seed_len), float(alpha), out)
    return out


def rolling_sum(x: FloatArray, window: int, scale: float = 1.0, out: FloatArray | None = None) -> FloatArray:
    """``scale`` * the sum of the last ``window`` values (scale 1/window gives the SMA)."""
    out = _out(x.size, out)
    run_kernel(_rolling_sum, (out,), 2, x, int(window), float(scale), out)
    return out


def rolling_mean_std(
    x: FloatArray,
    window: int,
    ddof: int = 0,
    mean: FloatArray | None = None,
    std: FloatArray | None = None,
    *,
    nbdev: float = 0.0,
    upper: FloatArray | None = None,
    lower: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Rolling mean and standard deviation (``ddof`` 0: population, as TA-Lib's STDDEV).

    With ``upper`` and ``lower`` it also writes the bands mean +/- ``nbdev`` * std (Bollinger).
    """
    mean, std = _out(x.size, mean), _out(x.size, std)
    no_band = np.empty(0)
    upper = no_band if upper is None else upper
    lower = no_band if lower is None else lower
    written = [arr for arr in (mean, std, upper, lower) if arr.size]
    run_kernel(
        _rolling_mean_std, written, 5, x, int(window), int(ddof), mean, std, float(nbdev), upper, lower
    )
    return mean, std


def rolling_extreme(x: FloatArray, window: int, *, is_max: bool, out: FloatArray | None = None) -> FloatArray:
    """Rolling max (or min) over ``window`` values."""
    out = _out(x.size, out)
    run_kernel(_rolling_extreme, (out,), 1, x, int(window), bool(is_max), out)
    return out


def wma(x: FloatArray, window: int, out: FloatArray | None = None) -> FloatArray:
    out = _out(x.size, out)
    run_kernel(_wma, (out,), 4, x, int(window), out)
    return out


def cumsum(x: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """Running sum of ``x`` from its first valid value (NaN before it); ``out`` may be ``x``."""
    out = _out(x.size, out)
    run_kernel(_cumsum, (out,), 1, x, out)
    return out
