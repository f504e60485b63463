"""Running kernels that read the bar columns directly: ATR/NATR, OBV, the A/D line and ADOSC.

Each fuses a per-bar term (the true range, the money-flow volume) with the recursion over it in
one loop, so no intermediate series is written or read back. The results are those of computing
the term first and running the plain kernels of ``_kernels`` over it (the same operations in the
same order, up to the FMA contraction of the recursion). Conventions as in ``_kernels``: they take
``(start, state)`` and return whether they got past their warm-up.
"""

from __future__ import annotations

import numpy as np

from pipelines.features._kernels import FloatArray, _nan_head, jit, jit_fma
from pipelines.features._tape import run_kernel

__all__ = ["ad_line", "adosc", "atr", "obv"]


def _true_range_at_impl(high: FloatArray, low: FloatArray, close: FloatArray, i: int) -> float:
    """max(high, prior close) - min(low, prior close) at bar ``i`` >= 1; NaN if any is NaN."""
    prev = close[i - 1]
    h = high[i]
    lo = low[i]
    if np.isnan(h) or np.isnan(lo) or np.isnan(prev):
        return np.nan
    return float((h if h > prev else prev) - (lo if lo < prev else prev))


_true_range_at = jit(_true_range_at_impl)


def _atr_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    percent: bool,
    out: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """The ATR, or with ``percent`` the NATR: 100 * ATR / close (0 where close is 0)."""
    n = close.size
    alpha = 1.0 / period
    beta = 1.0 - alpha
    if start:
        prev = state[0]
        begin = start
    else:
        s = 1  # the true range starts at bar 1; later when the first bars hold NaN
        while s < n and np.isnan(_true_range_at(high, low, close, s)):
            s += 1
        _nan_head(out, s + period - 1)
        if n - s < period:
            return False
        acc = 0.0
        for i in range(s, s + period):
            acc += _true_range_at(high, low, close, i)
        prev = acc / period
        begin = s + period
        if percent:
            c = close[begin - 1]
            out[begin - 1] = 0.0 if c == 0.0 else (prev * 100.0) / c
        else:
            out[begin - 1] = prev
    for i in range(begin, n):
        prev = prev * beta + _true_range_at(high, low, close, i) * alpha
        if percent:
            c = close[i]
            out[i] = 0.0 if c == 0.0 else (prev * 100.0) / c
        else:
            out[i] = prev
    state[0] = prev
    return True


_atr = jit_fma(_atr_impl)


def _flow_at_impl(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, i: int) -> float:
    """((close - low) - (high - close)) / (high - low) * volume at bar ``i``; 0 on a zero range."""
    rng = high[i] - low[i]
    mult = 0.0 if rng <= 0.0 else ((close[i] - low[i]) - (high[i] - close[i])) / rng
    return float(mult * volume[i])


_flow_at = jit(_flow_at_impl)


def _adosc_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    fast: int,
    slow: int,
    out: FloatArray,
    line: bool,
    start: int,
    state: FloatArray,
) -> bool:
    """The A/D line into ``out`` when ``line``; else EMA(fast) - EMA(slow) of it, both seeded with
    its first value and NaN for the first max(fast, slow) - 1 bars (TA-Lib ADOSC)."""
    n = close.size
    a_fast = 2.0 / (fast + 1)
    a_slow = 2.0 / (slow + 1)
    b_fast = 1.0 - a_fast
    b_slow = 1.0 - a_slow
    if start:
        acc, e_fast, e_slow = state[0], state[1], state[2]
        begin = start
    else:
        s = 0
        while s < n and np.isnan(_flow_at(high, low, close, volume, s)):
            s += 1
        _nan_head(out, s if line else max(s, max(fast, slow) - 1))
        if s == n:
            return False
        acc = e_fast = e_slow = _flow_at(high, low, close, volume, s)
        if line:
            out[s] = acc
        elif s >= max(fast, slow) - 1:
            out[s] = 0.0
        begin = s + 1
    head = 0 if line or start else max(fast, slow) - 1
    for i in range(begin, n):
        acc += _flow_at(high, low, close, volume, i)
        if line:
            out[i] = acc
            continue
        e_fast = e_fast * b_fast + acc * a_fast
        e_slow = e_slow * b_slow + acc * a_slow
        if i >= head:
            out[i] = e_fast - e_slow
    state[0], state[1], state[2] = acc, e_fast, e_slow
    return True


_adosc = jit_fma(_adosc_impl)


def _signed_volume_at_impl(close: FloatArray, volume: FloatArray, i: int) -> float:
    """OBV's term: the volume, signed by the close's change (0 when unchanged, the first bar +)."""
    if i == 0:
        return float(volume[0])
    d = close[i] - close[i - 1]
    # Two selects, no branch: the up/down sequence is unpredictable.
    sign = (1.0 if d > 0.0 else 0.0) - (1.0 if d < 0.0 else 0.0)
    if np.isnan(d):
        sign = np.nan
    return float(sign * volume[i])


_signed_volume_at = jit(_signed_volume_at_impl)


def _obv_impl(close: FloatArray, volume: FloatArray, out: FloatArray, start: int, state: FloatArray) -> bool:
    n = close.size
    if start:
        acc = state[0]
        begin = start
    else:
        s = 0
        while s < n and np.isnan(_signed_volume_at(close, volume, s)):
            s += 1
        _nan_head(out, s)
        if s == n:
            return False
        acc = _signed_volume_at(close, volume, s)
        out[s] = acc
        begin = s + 1
    for i in range(begin, n):
        acc += _signed_volume_at(close, volume, i)
        out[i] = acc
    state[0] = acc
    return True


_obv = jit(_obv_impl)


def obv(close: FloatArray, volume: FloatArray, out: FloatArray) -> FloatArray:
    """TA-Lib OBV: running sum of the volume signed by the close's change, from the first bar's."""
    run_kernel(_obv, (out,), 1, close, volume, out)
    return out


def atr(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    out: FloatArray,
    *,
    percent: bool = False,
) -> FloatArray:
    """TA-Lib ATR: Wilder smoothing of the true range seeded with its first ``period``-bar mean;
    with ``percent``, TA-Lib NATR (100 * ATR / close) without the ATR series."""
    run_kernel(_atr, (out,), 1, high, low, close, int(period), bool(percent), out)
    return out


def ad_line(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, out: FloatArray
) -> FloatArray:
    """Chaikin accumulation/distribution line (TA-Lib AD) from the first bar."""
    run_kernel(_adosc, (out,), 3, high, low, close, volume, 1, 1, out, True)
    return out


def adosc(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    fast: int,
    slow: int,
    out: FloatArray,
) -> FloatArray:
    """TA-Lib ADOSC: EMA(fast) - EMA(slow) of the A/D line, without the line itself."""
    run_kernel(_adosc, (out,), 3, high, low, close, volume, int(fast), int(slow), out, False)
    return out
