"""Numba kernels for windowed TA-Lib indicators: CCI, regression slope, Aroon, MFI, ULTOSC, vortex, VWAP.

Each reads its inputs once and writes its outputs directly (no intermediate arrays); see
``_kernels`` for the conventions. Running sums over small ring buffers are re-summed every
``RESYNC`` bars so rounding cannot drift.
"""

from __future__ import annotations

import numpy as np

from pipelines.features._kernels import RESYNC, FloatArray, IntArray, _first_valid, _nan_head, _out, jit
from pipelines.features._tape import run_kernel

__all__ = ["aroon", "cci", "linreg_slope", "mfi", "ultosc", "vortex", "vwap"]


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
                up[i] = factor * (period - (i - hi))
                down[i] = factor * (period - (i - lo))
        _aroon_suffix_jit(high, low, b, e, suf_hi, suf_lo)
    state[0] = (n - first) % w
    return True


_aroon = jit(_aroon_impl)


def _mfi_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    period: int,
    out: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """TA-Lib MFI: typical-price money flow split by the sign of the tp change, summed over n bars.

    0 when less than one unit of money flowed in the window, as TA-Lib does. ``state`` is
    (sums, previous tp, slot, countdown) then the two ring buffers.
    """
    n = close.size
    pos_buf = state[5 : 5 + period]
    neg_buf = state[5 + period : 5 + 2 * period]
    if start:
        pos_sum, neg_sum, prev_tp = state[0], state[1], state[2]
        slot = int(state[3])
        countdown = int(state[4])
        begin = start
        ready = 0
    else:
        _nan_head(out, period)
        if n <= period:
            return False
        pos_buf[:] = 0.0
        neg_buf[:] = 0.0
        pos_sum = 0.0
        neg_sum = 0.0
        prev_tp = (high[0] + low[0] + close[0]) / 3.0
        slot = 0
        countdown = RESYNC
        begin = 1
        ready = period
    for i in range(begin, n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        flow = tp * volume[i]
        pos = flow if tp > prev_tp else 0.0
        neg = flow if tp < prev_tp else 0.0
        prev_tp = tp
        pos_sum += pos - pos_buf[slot]
        neg_sum += neg - neg_buf[slot]
        pos_buf[slot] = pos
        neg_buf[slot] = neg
        slot = slot + 1 if slot + 1 < period else 0
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            pos_sum = pos_buf.sum()
            neg_sum = neg_buf.sum()
        if i >= ready:
            total = pos_sum + neg_sum
            out[i] = 0.0 if total < 1.0 else 100.0 * (pos_sum / total)
    state[0] = pos_sum
    state[1] = neg_sum
    state[2] = prev_tp
    state[3] = slot
    state[4] = countdown
    return True


_mfi = jit(_mfi_impl)


def _ultosc_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    p1: int,
    p2: int,
    p3: int,
    out: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """TA-Lib ULTOSC with sorted periods p1 < p2 < p3: 100 * (4 a1 + 2 a2 + a3) / 7, where a_k is
    the p_k-bar sum of buying pressure (close - true low) over the p_k-bar sum of true range.

    The ring buffers are indexed by the bar's position in the whole series, so ``state`` keeps
    that position as well as (countdown, sums, buffers).
    """
    n = close.size
    s_bp = state[2:5]
    s_tr = state[5:8]
    bp_buf = state[8 : 8 + p3]  # the last p3 values, ring-indexed by bar
    tr_buf = state[8 + p3 : 8 + 2 * p3]
    if start:
        offset = int(state[0]) - start  # series position minus window position
        countdown = int(state[1])
        begin = start
    else:
        _nan_head(out, p3)
        if n <= p3:
            return False
        state[2:] = 0.0
        offset = 0
        countdown = RESYNC
        begin = 1
    periods = (p1, p2, p3)
    for i in range(begin, n):
        at = i + offset
        true_low = min(low[i], close[i - 1])
        bp = close[i] - true_low
        tr = max(high[i], close[i - 1]) - true_low
        slot = at % p3
        for k in range(3):
            p = periods[k]
            s_bp[k] += bp
            s_tr[k] += tr
            if at > p:
                old = (at - p) % p3
                s_bp[k] -= bp_buf[old]
                s_tr[k] -= tr_buf[old]
        bp_buf[slot] = bp
        tr_buf[slot] = tr
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            for k in range(3 if at >= p3 else 0):
                s_bp[k] = 0.0
                s_tr[k] = 0.0
                for j in range(at - periods[k] + 1, at + 1):
                    s_bp[k] += bp_buf[j % p3]
                    s_tr[k] += tr_buf[j % p3]
        if at >= p3:
            acc = 0.0
            if not (-1e-14 < s_tr[0] < 1e-14):
                acc += 4.0 * (s_bp[0] / s_tr[0])
            if not (-1e-14 < s_tr[1] < 1e-14):
                acc += 2.0 * (s_bp[1] / s_tr[1])
            if not (-1e-14 < s_tr[2] < 1e-14):
                acc += s_bp[2] / s_tr[2]
            out[i] = 100.0 * (acc / 7.0)
    state[0] = n + offset
    state[1] = countdown
    return True


_ultosc = jit(_ultosc_impl)


def _vortex_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    plus: FloatArray,
    minus: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """Vortex: n-bar sums of |high - prior low| and |low - prior high| over the n-bar true-range sum.

    ``state`` is (sums, slot, countdown) then the three ring buffers.
    """
    n = close.size
    vp_buf = state[5 : 5 + period]
    vm_buf = state[5 + period : 5 + 2 * period]
    tr_buf = state[5 + 2 * period : 5 + 3 * period]
    if start:
        s_vp, s_vm, s_tr = state[0], state[1], state[2]
        slot = int(state[3])
        countdown = int(state[4])
        begin = start
        ready = 0
    else:
        _nan_head(plus, period)
        _nan_head(minus, period)
        if n <= period:
            return False
        state[5:] = 0.0
        s_vp = 0.0
        s_vm = 0.0
        s_tr = 0.0
        slot = 0
        countdown = RESYNC
        begin = 1
        ready = period
    for i in range(begin, n):
        vp = abs(high[i] - low[i - 1])
        vm = abs(low[i] - high[i - 1])
        tr = max(high[i], close[i - 1]) - min(low[i], close[i - 1])
        s_vp += vp - vp_buf[slot]
        s_vm += vm - vm_buf[slot]
        s_tr += tr - tr_buf[slot]
        vp_buf[slot] = vp
        vm_buf[slot] = vm
        tr_buf[slot] = tr
        slot = slot + 1 if slot + 1 < period else 0
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            s_vp = vp_buf.sum()
            s_vm = vm_buf.sum()
            s_tr = tr_buf.sum()
        if i >= ready:
            plus[i] = s_vp / s_tr if s_tr != 0.0 else 0.0
            minus[i] = s_vm / s_tr if s_tr != 0.0 else 0.0
    state[0] = s_vp
    state[1] = s_vm
    state[2] = s_tr
    state[3] = slot
    state[4] = countdown
    return True


_vortex = jit(_vortex_impl)


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


def mfi(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    period: int,
    out: FloatArray | None = None,
) -> FloatArray:
    out = _out(close.size, out)
    period = int(period)
    run_kernel(_mfi, (out,), 5 + 2 * period, high, low, close, volume, period, out)
    return out


def ultosc(
    high: FloatArray, low: FloatArray, close: FloatArray, periods: tuple[int, int, int], out: FloatArray
) -> None:
    p1, p2, p3 = sorted(int(p) for p in periods)
    run_kernel(_ultosc, (out,), 8 + 2 * p3, high, low, close, p1, p2, p3, out)


def vortex(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, plus: FloatArray, minus: FloatArray
) -> None:
    period = int(period)
    run_kernel(_vortex, (plus, minus), 5 + 3 * period, high, low, close, period, plus, minus)
