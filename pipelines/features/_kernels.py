"""Generic numba kernels: seeded EMA, rolling sum, rolling mean/std, rolling extremes, WMA.

Each kernel is a typed Python function compiled with ``njit(cache=True, nogil=True)`` and called
through a typed wrapper, so mypy checks every caller and numba caches the machine code on disk.
Kernels are few and generic to keep the cold compile short. Every kernel starts at the first
non-NaN value of its input, as TA-Lib's Python wrapper does, so an indicator of an indicator (the
EMA of the MACD line) needs no special case. Inputs must be writable C-contiguous float64 arrays
(numba compiles one specialisation per array layout).

Running sums are re-computed from scratch every ``RESYNC`` steps so rounding cannot drift over
millions of bars; the rolling variance uses Welford's add/remove update, never E[x²]-E[x]².
Kernels write into arrays their wrappers allocate with numpy: numpy asks the kernel for huge pages
on large allocations and numba's allocator does not, and 4 KiB page faults on fresh memory cost
more than most kernels themselves. Recursions multiply by precomputed constants instead of dividing (a division in a loop-carried
chain costs ~15 cycles per bar); results differ from TA-Lib's by a few ulps, which do not grow.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "RESYNC",
    "FloatArray",
    "IntArray",
    "ema",
    "first_valid",
    "jit",
    "rolling_argextreme",
    "rolling_extreme",
    "rolling_mean_std",
    "rolling_sum",
    "wma",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]

jit = njit(cache=True, nogil=True)
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


def _ema_impl(x: FloatArray, seed_len: int, alpha: float, out: FloatArray) -> None:
    n = x.size
    s = _first_valid(x)
    _nan_head(out, s + seed_len - 1)
    if n - s < seed_len:
        return
    acc = 0.0
    for i in range(s, s + seed_len):
        acc += x[i]
    prev = acc / seed_len
    out[s + seed_len - 1] = prev
    beta = 1.0 - alpha
    for i in range(s + seed_len, n):
        prev = prev * beta + x[i] * alpha
        out[i] = prev


_ema = jit(_ema_impl)


def _rolling_sum_impl(x: FloatArray, w: int, scale: float, out: FloatArray) -> None:
    n = x.size
    s = _first_valid(x)
    _nan_head(out, s + w - 1)
    if n - s < w:
        return
    acc = 0.0
    for i in range(s, s + w):
        acc += x[i]
    out[s + w - 1] = acc * scale
    countdown = RESYNC
    for i in range(s + w, n):
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            acc = 0.0
            for j in range(i - w + 1, i + 1):
                acc += x[j]
        else:
            acc += x[i] - x[i - w]
        out[i] = acc * scale


_rolling_sum = jit(_rolling_sum_impl)


def _rolling_mean_std_impl(
    x: FloatArray, w: int, ddof: int, mean_out: FloatArray, std_out: FloatArray
) -> None:
    n = x.size
    s = _first_valid(x)
    _nan_head(mean_out, s + w - 1)
    _nan_head(std_out, s + w - 1)
    if n - s < w or w - ddof <= 0:
        mean_out[:] = np.nan
        std_out[:] = np.nan
        return
    inv_w = 1.0 / w
    inv_dof = 1.0 / (w - ddof)
    countdown = 0
    mean = 0.0
    m2 = 0.0
    for i in range(s + w - 1, n):
        if countdown == 0:  # exact two-pass over the window, then cheap add/remove updates
            countdown = RESYNC
            acc = 0.0
            for j in range(i - w + 1, i + 1):
                acc += x[j]
            mean = acc * inv_w
            m2 = 0.0
            for j in range(i - w + 1, i + 1):
                d = x[j] - mean
                m2 += d * d
        else:
            x_in = x[i]
            x_out = x[i - w]
            delta = x_in - x_out
            new_mean = mean + delta * inv_w
            m2 = max(m2 + delta * (x_in - new_mean + x_out - mean), 0.0)
            mean = new_mean
        countdown -= 1
        mean_out[i] = mean
        std_out[i] = np.sqrt(m2 * inv_dof)


_rolling_mean_std = jit(_rolling_mean_std_impl)


def _rolling_extreme_impl(x: FloatArray, w: int, is_max: bool, suffix: FloatArray, out: FloatArray) -> None:
    """Rolling max/min by van Herk/Gil-Werman: block suffix extremes + running prefix extremes.

    Blocks of ``w`` bars start at the first valid value; a window spans the tail of one block and
    the head of the next, so its extreme is one comparison. Branch-free, ~3 comparisons per bar.
    """
    n = x.size
    s = _first_valid(x)
    _nan_head(out, s + w - 1)
    if n - s < w:
        return
    b = s
    while b < n:
        e = min(b + w, n)
        acc = x[e - 1]
        suffix[e - 1 - s] = acc
        for j in range(e - 2, b - 1, -1):
            v = x[j]
            acc = (v if v > acc else acc) if is_max else (v if v < acc else acc)
            suffix[j - s] = acc
        b = e
    prefix = 0.0
    count = 0
    for i in range(s, n):
        v = x[i]
        if count == 0:
            prefix = v
        else:
            prefix = (v if v > prefix else prefix) if is_max else (v if v < prefix else prefix)
        count += 1
        if count == w:
            count = 0
        if i >= s + w - 1:
            a = suffix[i - w + 1 - s]
            out[i] = (a if a > prefix else prefix) if is_max else (a if a < prefix else prefix)


_rolling_extreme = jit(_rolling_extreme_impl)


def _rolling_argextreme_impl(x: FloatArray, w: int, is_max: bool, suffix: IntArray, out: IntArray) -> None:
    """Index of the rolling max/min (latest index on ties, TA-Lib's AROON rule); -1 in warm-up."""
    n = x.size
    s = _first_valid(x)
    out[: min(s + w - 1, n)] = -1
    if n - s < w:
        return
    b = s
    while b < n:
        e = min(b + w, n)
        best = e - 1
        suffix[best - s] = best
        for j in range(e - 2, b - 1, -1):
            if (x[j] > x[best]) if is_max else (x[j] < x[best]):  # strict: the later index wins ties
                best = j
            suffix[j - s] = best
        b = e
    prefix = s
    count = 0
    for i in range(s, n):
        if count == 0 or ((x[i] >= x[prefix]) if is_max else (x[i] <= x[prefix])):
            prefix = i
        count += 1
        if count == w:
            count = 0
        if i >= s + w - 1:
            a = suffix[i - w + 1 - s]
            out[i] = prefix if ((x[prefix] >= x[a]) if is_max else (x[prefix] <= x[a])) else a


_rolling_argextreme = jit(_rolling_argextreme_impl)


def _wma_impl(x: FloatArray, w: int, out: FloatArray) -> None:
    """TA-Lib's WMA running sums (weights 1..w, newest heaviest), re-synced periodically."""
    n = x.size
    s = _first_valid(x)
    _nan_head(out, s + w - 1)
    if n - s < w:
        return
    inv_divider = 2.0 / (w * (w + 1))
    total = 0.0
    weighted = 0.0
    for k in range(w - 1):
        total += x[s + k]
        weighted += x[s + k] * (k + 1)
    trailing = 0.0
    countdown = RESYNC
    for i in range(s + w - 1, n):
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


_wma = jit(_wma_impl)


# --- typed wrappers -------------------------------------------------------------------------------


def first_valid(x: FloatArray) -> int:
    """Index of the first non-NaN value (``len(x)`` when there is none)."""
    return int(_first_valid(x))


def ema(x: FloatArray, seed_len: int, alpha: float) -> FloatArray:
    """EMA with smoothing ``alpha``, seeded with the mean of the first ``seed_len`` values.

    TA-Lib's EMA is (n, 2/(n+1)); Wilder's smoothing (RSI, ATR) is (n, 1/n); ADOSC seeds with the
    first value, (1, 2/(n+1)).
    """
    out = np.empty(x.size)
    _ema(x, int(seed_len), float(alpha), out)
    return out


def rolling_sum(x: FloatArray, window: int, scale: float = 1.0) -> FloatArray:
    """``scale`` * the sum of the last ``window`` values (scale 1/window gives the SMA)."""
    out = np.empty(x.size)
    _rolling_sum(x, int(window), float(scale), out)
    return out


def rolling_mean_std(x: FloatArray, window: int, ddof: int = 0) -> tuple[FloatArray, FloatArray]:
    mean, std = np.empty(x.size), np.empty(x.size)
    _rolling_mean_std(x, int(window), int(ddof), mean, std)
    return mean, std


def rolling_extreme(x: FloatArray, window: int, *, is_max: bool) -> FloatArray:
    """Rolling max (or min) over ``window`` values."""
    out = np.empty(x.size)
    _rolling_extreme(x, int(window), bool(is_max), np.empty(x.size), out)
    return out


def rolling_argextreme(x: FloatArray, window: int, *, is_max: bool) -> IntArray:
    """Index of the rolling max (or min), the latest on ties; -1 during warm-up."""
    out = np.empty(x.size, dtype=np.int64)
    _rolling_argextreme(x, int(window), bool(is_max), np.empty(x.size, dtype=np.int64), out)
    return out


def wma(x: FloatArray, window: int) -> FloatArray:
    out = np.empty(x.size)
    _wma(x, int(window), out)
    return out
