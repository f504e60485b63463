"""The numba kernel conventions and their shared pieces, with the running kernels: seeded EMA, cumsum.

Each kernel is a typed Python function compiled with ``njit(cache=True, nogil=True)`` and called
through a typed wrapper, so mypy checks every caller and numba caches the machine code on disk.
Kernels are few and generic to keep the cold compile short; the fixed-window ones (rolling sum,
mean/std, extremes, WMA) are in ``_rolling_kernels``. Every kernel starts at the first
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
    "EPS",
    "RESYNC",
    "FloatArray",
    "IntArray",
    "cumsum",
    "ema",
    "ema_chain",
    "first_valid",
    "jit",
    "jit_fma",
    "kama",
]

IntArray: TypeAlias = npt.NDArray[np.int64]

jit = njit(cache=True, nogil=True)
# For EMA-like recursions: fusing x*a + y into one FMA halves the loop-carried latency (the bound
# on their speed); FMA rounds once instead of twice, so results only get more accurate.
jit_fma = njit(cache=True, nogil=True, fastmath={"contract"})
RESYNC = 1024
EPS = 1e-14  # TA-Lib's TA_EPSILON: |v| < EPS counts as zero before a division


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


DEMA, TEMA, TRIX = 0, 1, 2


def _ema_chain_impl(
    x: FloatArray, period: int, mode: int, out: FloatArray, start: int, state: FloatArray
) -> bool:
    """DEMA, TEMA or TRIX of ``x`` in one pass: the two or three chained EMAs advance together.

    The warm-up (each EMA seeded with the mean of the first ``period`` values of the one before)
    runs the plain EMA kernel over the short head; from there one loop carries all the levels.
    """
    n = x.size
    alpha = 2.0 / (period + 1)
    beta = 1.0 - alpha
    if start:
        p1, p2, p3 = state[0], state[1], state[2]
        begin = start
    else:
        s = _first_valid(x)
        depth = 2 if mode == DEMA else 3
        head = s + depth * (period - 1) + 1  # bars up to the first value of the last EMA
        _nan_head(out, head if mode == TRIX else head - 1)
        if n < head + (mode == TRIX):
            _nan_head(out, n)
            return False
        e1, e2, e3, scratch = np.empty(head), np.empty(head), np.empty(head), np.empty(1)
        _ema(x[:head], period, alpha, e1, 0, scratch)
        _ema(e1, period, alpha, e2, 0, scratch)
        p1, p2, p3 = e1[head - 1], e2[head - 1], 0.0
        if mode == DEMA:
            out[head - 1] = (p1 - p2) + p1
        else:
            _ema(e2, period, alpha, e3, 0, scratch)
            p3 = e3[head - 1]
            if mode == TEMA:
                out[head - 1] = p3 + (p1 - p2) * 3.0
        begin = head
    for i in range(begin, n):
        p1 = p1 * beta + x[i] * alpha
        p2 = p2 * beta + p1 * alpha
        if mode == DEMA:
            out[i] = (p1 - p2) + p1
            continue
        base = p3
        p3 = p3 * beta + p2 * alpha
        if mode == TEMA:
            out[i] = p3 + (p1 - p2) * 3.0
        else:
            out[i] = ((1.0 if base == 0.0 else p3 / base) - 1.0) * 100.0
    state[0], state[1], state[2] = p1, p2, p3
    return True


_ema_chain = jit_fma(_ema_chain_impl)


def _true_range_of_impl(h: float, lo: float, prev: float) -> float:
    """max(high, prior close) - min(low, prior close); NaN if any is NaN (one branch, no index)."""
    r = (h if h > prev else prev) - (lo if lo < prev else prev)
    if np.isnan(h) | np.isnan(lo) | np.isnan(prev):
        r = np.nan
    return float(r)


_true_range_of = jit(_true_range_of_impl)


_KAMA_SLOW = 2.0 / (30.0 + 1.0)
_KAMA_SPAN = 2.0 / (2.0 + 1.0) - _KAMA_SLOW


def _kama_sc_impl(roc: float, sum_roc: float) -> float:
    """KAMA's smoothing constant from the efficiency ratio |roc| / sum of |changes|."""
    er = 1.0 if (sum_roc <= roc or -EPS < sum_roc < EPS) else abs(roc / sum_roc)
    sc = er * _KAMA_SPAN + _KAMA_SLOW
    return float(sc * sc)


_kama_sc = jit(_kama_sc_impl)


def _kama_run_impl(x: FloatArray, period: int, out: FloatArray, begin: int, state: FloatArray) -> None:
    """KAMA's loop from bar ``begin`` (> ``period``) on: the sum of the last ``period`` absolute
    changes slides by one bar, then the level moves. 0-based views, one per lag read, so numba
    needs no negative-index wraparound per access (see ``_bar_kernels._wilder_tr``)."""
    sum_roc, prev = state[0], state[1]
    m = x.size - begin
    xs, x1, xp, xp1, os = x[begin:], x[begin - 1 :], x[begin - period :], x[begin - period - 1 :], out[begin:]
    for j in range(m):
        v = xs[j]
        sum_roc += abs(v - x1[j]) - abs(xp1[j] - xp[j])
        prev = (v - prev) * _kama_sc(v - xp[j], sum_roc) + prev
        os[j] = prev
    state[0], state[1] = sum_roc, prev


_kama_run = jit_fma(_kama_run_impl)


def _kama_impl(x: FloatArray, period: int, out: FloatArray, start: int, state: FloatArray) -> bool:
    """TA-Lib KAMA: efficiency ratio over ``period`` changes, fast 2 / slow 30 constants."""
    n = x.size
    if not start:
        s = _first_valid(x)
        _nan_head(out, s + period)
        if n - s <= period:
            return False
        sum_roc = 0.0
        for i in range(s, s + period):
            sum_roc += abs(x[i] - x[i + 1])
        # The first output bar: the seed (the value before it) moves once, the sum as it is.
        i = s + period
        prev = x[i - 1]
        out[i] = prev = (x[i] - prev) * _kama_sc(x[i] - x[s], sum_roc) + prev
        state[0], state[1] = sum_roc, prev
        start = i + 1
    _kama_run(x, period, out, start, state)
    return True


_kama = jit_fma(_kama_impl)


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


def ema_chain(x: FloatArray, period: int, mode: int, out: FloatArray) -> FloatArray:
    """TA-Lib DEMA, TEMA or TRIX (``mode``) of ``x``, without intermediate series."""
    run_kernel(_ema_chain, (out,), 3, x, int(period), int(mode), out)
    return out


def cumsum(x: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """Running sum of ``x`` from its first valid value (NaN before it); ``out`` may be ``x``."""
    out = _out(x.size, out)
    run_kernel(_cumsum, (out,), 1, x, out)
    return out


def kama(x: FloatArray, period: int, out: FloatArray | None = None) -> FloatArray:
    """TA-Lib KAMA of ``x`` (efficiency-ratio adaptive EMA, fast 2 / slow 30)."""
    out = _out(x.size, out)
    run_kernel(_kama, (out,), 2, x, int(period), out)
    return out
