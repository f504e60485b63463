"""Numba kernels over a fixed window of ``w`` values: rolling sum, mean/std (and Bollinger bands),
max/min, and TA-Lib's WMA.

Each re-computes its running values from scratch every ``RESYNC`` bars so rounding cannot drift,
or (the extremes) needs no running value at all; see ``_kernels`` for the conventions they share
(typed wrappers, first-valid start, ``(start, state)`` resumption, caller-allocated outputs).
"""

from __future__ import annotations

import numpy as np

from pipelines.features._kernels import RESYNC, FloatArray, _first_valid, _nan_head, _out, jit, jit_fma
from pipelines.features._tape import run_kernel

__all__ = ["rolling_extreme", "rolling_mean_std", "rolling_sum", "wma"]


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


def _window_moments_impl(x: FloatArray, end: int, w: int, inv_w: float) -> tuple[float, float, float, float]:
    """The re-sync: (K, sum, mean, M2) of the ``w`` values ending at ``end``, exactly, in two
    passes over y = x - K with K = x[end]."""
    shift = x[end]
    acc = 0.0
    for j in range(end - w + 1, end + 1):
        acc += x[j] - shift
    mean = acc * inv_w
    m2 = 0.0
    for j in range(end - w + 1, end + 1):
        d = (x[j] - shift) - mean
        m2 += d * d
    return shift, acc, mean, m2


_window_moments = jit(_window_moments_impl)


def _mean_std_warmup_impl(
    x: FloatArray, w: int, ddof: int, mean: FloatArray, std: FloatArray, upper: FloatArray, lower: FloatArray
) -> int:
    """NaN over the warm-up of every output (an empty one takes none); returns the first output bar,
    ``x.size`` when there is none."""
    n = x.size
    s = _first_valid(x)
    head = n if (n - s < w or w - ddof <= 0) else s + w - 1
    _nan_head(mean, head)
    _nan_head(std, head)
    _nan_head(upper, head)
    _nan_head(lower, head)
    return head


_mean_std_warmup = jit(_mean_std_warmup_impl)


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
    begin = start
    if not start:
        begin = _mean_std_warmup(x, w, ddof, mean_out, std_out, upper, lower)
        if begin == n:
            return False
        state[:5] = 0.0  # countdown 0: the first bar re-syncs
    countdown = int(state[0])
    shift, acc, mean, m2 = state[1], state[2], state[3], state[4]
    inv_dof = 1.0 / (w - ddof)
    for i in range(begin, n):
        if countdown == 0:
            countdown = RESYNC
            shift, acc, mean, m2 = _window_moments(x, i, w, inv_w)
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


# --- typed wrappers: ``out`` (a fresh array when None) must not alias an input --------------------


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
