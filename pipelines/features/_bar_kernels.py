"""Running kernels that read the bar columns directly: ATR/NATR, OBV, the A/D line and ADOSC.

Each fuses a per-bar term (the true range, the money-flow volume) with the recursion over it in
one loop, so no intermediate series is written or read back. The results are those of computing
the term first and running the plain kernels of ``_kernels`` over it (the same operations in the
same order, up to the FMA contraction of the recursion). Conventions as in ``_kernels``: they take
``(start, state)`` and return whether they got past their warm-up.
"""

from __future__ import annotations

import numpy as np

from pipelines.features._kernels import FloatArray, _nan_head, _true_range_of, jit, jit_fma
from pipelines.features._tape import run_kernel

__all__ = ["ad_line", "adosc", "atr", "obv"]


def _true_range_at_impl(high: FloatArray, low: FloatArray, close: FloatArray, i: int) -> float:
    """The true range at bar ``i`` >= 1."""
    return float(_true_range_of(high[i], low[i], close[i - 1]))


_true_range_at = jit(_true_range_at_impl)


def _wilder_tr_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    out: FloatArray,
    begin: int,
    prev: float,
    alpha: float,
    percent: bool,
) -> float:
    """The ATR (NATR with ``percent``) recursion over bars ``begin`` (>= 1) to the end.

    The loop runs over views that start at ``begin`` with a 0-based index: numba then needs no
    negative-index wraparound per access (a third of the loop's instructions otherwise), and
    ``percent`` is tested once, not per bar.
    """
    beta = 1.0 - alpha
    m = close.size - begin
    hs, ls, cs, ps, os = high[begin:], low[begin:], close[begin:], close[begin - 1 :], out[begin:]
    if percent:
        for j in range(m):
            prev = prev * beta + _true_range_of(hs[j], ls[j], ps[j]) * alpha
            c = cs[j]
            os[j] = 0.0 if c == 0.0 else (prev * 100.0) / c
    else:
        for j in range(m):
            prev = prev * beta + _true_range_of(hs[j], ls[j], ps[j]) * alpha
            os[j] = prev
    return float(prev)


_wilder_tr = jit_fma(_wilder_tr_impl)


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
    state[0] = _wilder_tr(high, low, close, out, begin, prev, alpha, percent)
    return True


_atr = jit_fma(_atr_impl)


def _flow_of_impl(h: float, lo: float, c: float, v: float) -> float:
    """((close - low) - (high - close)) / (high - low) * volume; 0 on a zero range."""
    rng = h - lo
    mult = 0.0 if rng <= 0.0 else ((c - lo) - (h - c)) / rng
    return float(mult * v)


_flow_of = jit(_flow_of_impl)


def _ad_run_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    out: FloatArray,
    begin: int,
    acc: float,
) -> float:
    """The A/D line from bar ``begin`` on, over 0-based views (see ``_wilder_tr``)."""
    m = close.size - begin
    hs, ls, cs, vs, os = high[begin:], low[begin:], close[begin:], volume[begin:], out[begin:]
    for j in range(m):
        acc += _flow_of(hs[j], ls[j], cs[j], vs[j])
        os[j] = acc
    return float(acc)


_ad_run = jit(_ad_run_impl)


def _adosc_run_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    out: FloatArray,
    begin: int,
    head: int,
    alphas: tuple[float, float],
    state: FloatArray,
) -> None:
    """EMA(fast) - EMA(slow) of the A/D line from bar ``begin`` on, written from bar ``head`` on;
    the line and both levels come from and go back to ``state``."""
    a_fast, a_slow = alphas
    b_fast = 1.0 - a_fast
    b_slow = 1.0 - a_slow
    acc, e_fast, e_slow = state[0], state[1], state[2]
    m = close.size - begin
    hs, ls, cs, vs, os = high[begin:], low[begin:], close[begin:], volume[begin:], out[begin:]
    skip = min(max(head - begin, 0), m)
    for j in range(skip):  # the warm-up: the levels advance, nothing is written
        acc += _flow_of(hs[j], ls[j], cs[j], vs[j])
        e_fast = e_fast * b_fast + acc * a_fast
        e_slow = e_slow * b_slow + acc * a_slow
    for j in range(skip, m):
        acc += _flow_of(hs[j], ls[j], cs[j], vs[j])
        e_fast = e_fast * b_fast + acc * a_fast
        e_slow = e_slow * b_slow + acc * a_slow
        os[j] = e_fast - e_slow
    state[0], state[1], state[2] = acc, e_fast, e_slow


_adosc_run = jit_fma(_adosc_run_impl)


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
    if start:
        begin = start
    else:
        s = 0
        while s < n and np.isnan(_flow_of(high[s], low[s], close[s], volume[s])):
            s += 1
        _nan_head(out, s if line else max(s, max(fast, slow) - 1))
        if s == n:
            return False
        first = _flow_of(high[s], low[s], close[s], volume[s])
        state[0] = state[1] = state[2] = first
        if line:
            out[s] = first
        elif s >= max(fast, slow) - 1:
            out[s] = 0.0
        begin = s + 1
    if line:
        state[0] = _ad_run(high, low, close, volume, out, begin, state[0])
    else:
        head = 0 if start else max(fast, slow) - 1
        _adosc_run(high, low, close, volume, out, begin, head, (2.0 / (fast + 1), 2.0 / (slow + 1)), state)
    return True


_adosc = jit_fma(_adosc_impl)


def _signed_volume_of_impl(d: float, v: float) -> float:
    """OBV's term: the volume signed by the close's change ``d`` (0 when unchanged, NaN if NaN)."""
    # Two selects, no branch: the up/down sequence is unpredictable.
    sign = (1.0 if d > 0.0 else 0.0) - (1.0 if d < 0.0 else 0.0)
    if np.isnan(d):
        sign = np.nan
    return float(sign * v)


_signed_volume_of = jit(_signed_volume_of_impl)


def _signed_volume_at_impl(close: FloatArray, volume: FloatArray, i: int) -> float:
    """OBV's term at bar ``i``; the first bar's is its volume."""
    if i == 0:
        return float(volume[0])
    return float(_signed_volume_of(close[i] - close[i - 1], volume[i]))


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
    m = n - begin  # 0-based views from ``begin`` >= 1 (see ``_wilder_tr``)
    cs, ps, vs, os = close[begin:], close[begin - 1 :], volume[begin:], out[begin:]
    for j in range(m):
        acc += _signed_volume_of(cs[j] - ps[j], vs[j])
        os[j] = acc
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
