"""Numba kernels for windowed TA-Lib indicators: CCI, regression slope, VWAP (Aroon: ``_extreme_kernels``).

Each reads its inputs once and writes its outputs directly (no intermediate arrays); see
``_kernels`` for the conventions. Running sums over small ring buffers are re-summed every
``RESYNC`` bars so rounding cannot drift.
"""

from __future__ import annotations

from pipelines.features._kernels import RESYNC, FloatArray, IntArray, _first_valid, _nan_head, _out, jit
from pipelines.features._tape import run_kernel

__all__ = ["cci", "linreg_slope", "vwap"]


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
