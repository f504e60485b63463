"""Numba kernels for windowed TA-Lib indicators: CCI, regression slope, Aroon, VWAP.

Each reads its inputs once and writes its outputs directly (no intermediate arrays); see
``_kernels`` for the conventions. Running sums over small ring buffers are re-summed every
``RESYNC`` bars so rounding cannot drift.
"""

from __future__ import annotations

import numpy as np

from pipelines.features._kernels import RESYNC, FloatArray, IntArray, _first_valid, _nan_head, _out, jit
from pipelines.features._tape import run_kernel

__all__ = ["aroon", "cci", "linreg_slope", "vwap"]


def _cci_impl(tp: FloatArray, period: int, out: FloatArray, start: int, state: FloatArray) -> bool:
    """TA-Lib CCI: (tp - SMA) / (0.015 * mean absolute deviation); 0 when either part is 0.

    The deviation needs a pass over each window; four accumulators let the CPU overlap the adds.
    Nothing carries over from bar to bar, so ``state`` is unused.
    """
    n = tp.size
    if start:
        begin = start
    else:
        s = _first_valid(tp)
        _nan_head(out, s + period - 1)
        begin = s + period - 1
    inv = 1.0 / period
    m = period - period % 4
    for i in range(begin, n):
        w = tp[i - period + 1 : i + 1]
        a0 = a1 = a2 = a3 = 0.0
        for j in range(0, m, 4):
            a0 += w[j]
            a1 += w[j + 1]
            a2 += w[j + 2]
            a3 += w[j + 3]
        for j in range(m, period):
            a0 += w[j]
        mean = ((a0 + a1) + (a2 + a3)) * inv
        a0 = a1 = a2 = a3 = 0.0
        for j in range(0, m, 4):
            a0 += abs(w[j] - mean)
            a1 += abs(w[j + 1] - mean)
            a2 += abs(w[j + 2] - mean)
            a3 += abs(w[j + 3] - mean)
        for j in range(m, period):
            a0 += abs(w[j] - mean)
        dev = (a0 + a1) + (a2 + a3)
        num = tp[i] - mean
        out[i] = num / (0.015 * (dev * inv)) if (num != 0.0 and dev != 0.0) else 0.0
    return begin < n


_cci = jit(_cci_impl)


def _linreg_slope_impl(x: FloatArray, period: int, out: FloatArray, start: int, state: FloatArray) -> bool:
    """TA-Lib LINEARREG_SLOPE: least-squares slope per bar over the last ``period`` values.

    Keeps the window sum S and the position-weighted sum T (oldest at position 0) by O(1) updates,
    re-computed every RESYNC bars; the slope is (p*T - sum_x*S) / (p*sum_x2 - sum_x^2).
    """
    n = x.size
    sum_x = period * (period - 1) * 0.5
    sum_x_sqr = period * (period - 1) * (2 * period - 1) / 6.0
    inv_divisor = 1.0 / (period * sum_x_sqr - sum_x * sum_x)
    if start:
        total, weighted = state[0], state[1]
        countdown = int(state[2])
        begin = start
    else:
        s = _first_valid(x)
        _nan_head(out, s + period - 1)
        if n - s < period:
            return False
        total = 0.0
        weighted = 0.0
        countdown = 0
        begin = s + period - 1
    for i in range(begin, n):
        if countdown == 0:
            countdown = RESYNC
            total = 0.0
            weighted = 0.0
            base = i - period + 1
            for j in range(period):
                total += x[base + j]
                weighted += j * x[base + j]
        else:
            dropped = x[i - period]
            weighted += (period - 1) * x[i] - (total - dropped)
            total += x[i] - dropped
        countdown -= 1
        out[i] = (period * weighted - sum_x * total) * inv_divisor
    state[0] = total
    state[1] = weighted
    state[2] = countdown
    return True


_linreg_slope = jit(_linreg_slope_impl)


def _vwap_impl(
    tp: FloatArray, volume: FloatArray, day: IntArray, out: FloatArray, start: int, state: FloatArray
) -> bool:
    n = tp.size
    pv = state[0] if start else 0.0
    vol = state[1] if start else 0.0
    for i in range(start, n):
        if i == 0 or day[i] != day[i - 1]:
            pv = 0.0
            vol = 0.0
        pv += tp[i] * volume[i]
        vol += volume[i]
        out[i] = pv / vol if vol != 0.0 else tp[i]
    state[0] = pv
    state[1] = vol
    return n > 0


_vwap = jit(_vwap_impl)


def _aroon_suffix(
    high: FloatArray, low: FloatArray, b: int, e: int, suf_hi: IntArray, suf_lo: IntArray
) -> None:
    """Indices of the highest high / lowest low of [i, e) for each i of the block [b, e)."""
    bh = e - 1
    bl = e - 1
    for i in range(e - 1, b - 1, -1):
        if high[i] > high[bh]:  # strict: the later index wins ties
            bh = i
        if low[i] < low[bl]:
            bl = i
        suf_hi[i - b] = bh
        suf_lo[i - b] = bl


_aroon_suffix_jit = jit(_aroon_suffix)


def _aroon_impl(
    high: FloatArray,
    low: FloatArray,
    period: int,
    up: FloatArray,
    down: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """TA-Lib AROON: 100*(period - bars since the highest high / lowest low of period+1 bars)/period.

    Ties go to the latest bar, as in TA-Lib. Uses the block prefix/suffix scheme of
    ``rolling_extreme`` on indices, with O(period) buffers, and resumes as it does.
    """
    n = high.size
    w = period + 1
    factor = 100.0 / period
    suf_hi = np.zeros(w, dtype=np.int64)
    suf_lo = np.zeros(w, dtype=np.int64)
    if start:
        first = start - int(state[0])
        _aroon_suffix_jit(high, low, first - w, first, suf_hi, suf_lo)
        ready = 0  # every bar of a resumed run has a full window
    else:
        _nan_head(up, w - 1)
        _nan_head(down, w - 1)
        if n < w:
            return False
        first = 0
        ready = w - 1
    for b in range(first, n, w):
        e = min(b + w, n)
        ph = b
        pl = b
        for i in range(b, e):
            if high[i] >= high[ph]:
                ph = i
            if low[i] <= low[pl]:
                pl = i
            if i >= ready:
                j = i - b + 1
                hi = ph
                lo = pl
                if j < w:
                    if high[suf_hi[j]] > high[ph]:
                        hi = suf_hi[j]
                    if low[suf_lo[j]] < low[pl]:
                        lo = suf_lo[j]
                if down.size:
                    up[i] = factor * (period - (i - hi))
                    down[i] = factor * (period - (i - lo))
                else:  # the oscillator alone, into ``up``
                    up[i] = factor * (period - (i - hi)) - factor * (period - (i - lo))
        _aroon_suffix_jit(high, low, b, e, suf_hi, suf_lo)
    state[0] = (n - first) % w
    return True


_aroon = jit(_aroon_impl)


# --- typed wrappers: ``out`` (a fresh array when None) must not alias an input --------------------


def cci(tp: FloatArray, period: int, out: FloatArray | None = None) -> FloatArray:
    out = _out(tp.size, out)
    run_kernel(_cci, (out,), 1, tp, int(period), out)
    return out


def linreg_slope(x: FloatArray, period: int, out: FloatArray | None = None) -> FloatArray:
    out = _out(x.size, out)
    run_kernel(_linreg_slope, (out,), 3, x, int(period), out)
    return out


def vwap(tp: FloatArray, volume: FloatArray, day: IntArray, out: FloatArray | None = None) -> FloatArray:
    """Cumulative tp*volume / cumulative volume, restarting whenever ``day`` changes."""
    out = _out(tp.size, out)
    run_kernel(_vwap, (out,), 2, tp, volume, day, out)
    return out


def aroon(high: FloatArray, low: FloatArray, period: int, up: FloatArray, down: FloatArray) -> None:
    run_kernel(_aroon, (up, down), 1, high, low, int(period), up, down)


def aroon_osc(high: FloatArray, low: FloatArray, period: int, out: FloatArray) -> None:
    """Aroon up - Aroon down in one pass, without either line."""
    run_kernel(_aroon, (out,), 1, high, low, int(period), out, np.empty(0))
