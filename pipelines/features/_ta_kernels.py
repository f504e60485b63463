"""Numba kernels for indicators with their own recursion: RSI/CMO, DMI/ADX, KAMA, SAR, CCI, ...

Each mirrors the TA-Lib C function it is named after (same seeding and first output bar); see
``_kernels`` for the conventions (typed wrappers, first-valid start, constants instead of divisions).
"""

from __future__ import annotations

import numpy as np
from pipelines.features._kernels import RESYNC, FloatArray, IntArray, _first_valid, _nan_head, jit

__all__ = ["cci", "dmi", "kama", "linreg_slope", "rsi_cmo", "sar", "vwap"]

_EPS = 1e-14  # TA-Lib's TA_EPSILON: |v| < _EPS counts as zero before a division


def _rsi_cmo_impl(x: FloatArray, period: int, cmo: bool, out: FloatArray) -> None:
    """Wilder-smoothed gains and losses seeded with their plain n-bar means (TA-Lib RSI, CMO)."""
    n = x.size
    s = _first_valid(x)
    _nan_head(out, s + period)
    if n - s <= period:
        return
    prev = x[s]
    gain = 0.0
    loss = 0.0
    for i in range(s + 1, s + period + 1):
        d = x[i] - prev
        prev = x[i]
        if d < 0.0:
            loss -= d
        else:
            gain += d
    gain /= period
    loss /= period
    keep = (period - 1) / period
    inv = 1.0 / period
    for i in range(s + period, n):
        if i > s + period:
            d = x[i] - prev
            prev = x[i]
            gain = gain * keep + (d * inv if d > 0.0 else 0.0)
            loss = loss * keep - (d * inv if d < 0.0 else 0.0)
        total = gain + loss
        if -_EPS < total < _EPS:
            out[i] = 0.0
        elif cmo:
            out[i] = 100.0 * ((gain - loss) / total)
        else:
            out[i] = 100.0 * (gain / total)


_rsi_cmo = jit(_rsi_cmo_impl)


def _dmi_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    plus_di: FloatArray,
    minus_di: FloatArray,
    dx: FloatArray,
    adx: FloatArray,
) -> None:
    """+DI, -DI, DX and ADX exactly as TA-Lib seeds them.

    The DM and TR sums start with period-1 raw values and are Wilder-smoothed from bar ``period``
    on, where +DI/-DI/DX begin; ADX is the mean of the first ``period`` DX values, output at bar
    2*period-1 and Wilder-smoothed after that. A DX whose DI sum is ~0 is skipped, as in TA-Lib.
    """
    n = close.size
    _nan_head(plus_di, period)
    _nan_head(minus_di, period)
    _nan_head(dx, period)
    _nan_head(adx, 2 * period - 1)
    keep = 1.0 - 1.0 / period
    adx_keep = (period - 1) / period
    inv = 1.0 / period
    p_dm = 0.0
    m_dm = 0.0
    tr = 0.0
    sum_dx = 0.0
    prev_adx = 0.0
    for i in range(1, n):
        diff_p = high[i] - high[i - 1]
        diff_m = low[i - 1] - low[i]
        rng = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        plus = diff_p if (diff_p > 0 and diff_p > diff_m) else 0.0
        minus = diff_m if (diff_m > 0 and diff_p < diff_m) else 0.0
        if i < period:
            m_dm += minus
            p_dm += plus
            tr += rng
            continue
        m_dm = m_dm * keep + minus
        p_dm = p_dm * keep + plus
        tr = tr * keep + rng
        has_dx = False
        dx_i = 0.0
        if -_EPS < tr < _EPS:
            plus_di[i] = 0.0
            minus_di[i] = 0.0
        else:
            inv_tr = 100.0 / tr
            mdi = m_dm * inv_tr
            pdi = p_dm * inv_tr
            plus_di[i] = pdi
            minus_di[i] = mdi
            total = mdi + pdi
            if not (-_EPS < total < _EPS):
                dx_i = 100.0 * (abs(mdi - pdi) / total)
                has_dx = True
        dx[i] = dx_i
        if i < 2 * period:
            if has_dx:
                sum_dx += dx_i
            if i == 2 * period - 1:
                prev_adx = sum_dx * inv
                adx[i] = prev_adx
        else:
            if has_dx:
                prev_adx = prev_adx * adx_keep + dx_i * inv
            adx[i] = prev_adx


_dmi = jit(_dmi_impl)


def _kama_impl(x: FloatArray, period: int, out: FloatArray) -> None:
    """TA-Lib KAMA: efficiency ratio over ``period`` changes, fast 2 / slow 30 constants."""
    n = x.size
    s = _first_valid(x)
    _nan_head(out, s + period)
    if n - s <= period:
        return
    const_max = 2.0 / (30.0 + 1.0)
    const_diff = 2.0 / (2.0 + 1.0) - const_max
    sum_roc = 0.0
    for i in range(s, s + period):
        sum_roc += abs(x[i] - x[i + 1])
    prev = x[s + period - 1]
    for i in range(s + period, n):
        if i > s + period:
            sum_roc += abs(x[i] - x[i - 1]) - abs(x[i - period - 1] - x[i - period])
        roc = x[i] - x[i - period]
        if sum_roc <= roc or (-_EPS < sum_roc < _EPS):
            er = 1.0
        else:
            er = abs(roc / sum_roc)
        sc = er * const_diff + const_max
        sc *= sc
        prev = (x[i] - prev) * sc + prev
        out[i] = prev


_kama = jit(_kama_impl)


def _sar_impl(high: FloatArray, low: FloatArray, accel: float, maximum: float, out: FloatArray) -> None:
    """TA-Lib SAR: the first trend is short when bar 1 has a positive minus-DM, long otherwise."""
    n = high.size
    _nan_head(out, 1)
    if n < 2:
        return
    accel = min(accel, maximum)
    af = accel
    diff_m = low[0] - low[1]
    diff_p = high[1] - high[0]
    is_long = not (diff_m > 0 and diff_p < diff_m)
    ep = high[1] if is_long else low[1]
    sar = low[0] if is_long else high[0]
    new_low = low[1]
    new_high = high[1]
    for i in range(1, n):
        prev_low = new_low
        prev_high = new_high
        new_low = low[i]
        new_high = high[i]
        if is_long:
            if new_low <= sar:  # penetrated: reverse to short at the extreme point
                is_long = False
                sar = max(ep, prev_high, new_high)
                out[i] = sar
                af = accel
                ep = new_low
                sar = max(sar + af * (ep - sar), prev_high, new_high)
            else:
                out[i] = sar
                if new_high > ep:
                    ep = new_high
                    af = min(af + accel, maximum)
                sar = min(sar + af * (ep - sar), prev_low, new_low)
        elif new_high >= sar:  # penetrated: reverse to long
            is_long = True
            sar = min(ep, prev_low, new_low)
            out[i] = sar
            af = accel
            ep = new_high
            sar = min(sar + af * (ep - sar), prev_low, new_low)
        else:
            out[i] = sar
            if new_low < ep:
                ep = new_low
                af = min(af + accel, maximum)
            sar = max(sar + af * (ep - sar), prev_high, new_high)


_sar = jit(_sar_impl)


def _cci_impl(tp: FloatArray, period: int, out: FloatArray) -> None:
    """TA-Lib CCI: (tp - SMA) / (0.015 * mean absolute deviation); 0 when either part is 0.

    The deviation needs a pass over each window; four accumulators let the CPU overlap the adds.
    """
    n = tp.size
    s = _first_valid(tp)
    _nan_head(out, s + period - 1)
    inv = 1.0 / period
    m = period - period % 4
    for i in range(s + period - 1, n):
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


_cci = jit(_cci_impl)


def _linreg_slope_impl(x: FloatArray, period: int, out: FloatArray) -> None:
    """TA-Lib LINEARREG_SLOPE: least-squares slope per bar over the last ``period`` values.

    Keeps the window sum S and the position-weighted sum T (oldest at position 0) by O(1) updates,
    re-computed every RESYNC bars; the slope is (p*T - sum_x*S) / (p*sum_x2 - sum_x^2).
    """
    n = x.size
    s = _first_valid(x)
    _nan_head(out, s + period - 1)
    if n - s < period:
        return
    sum_x = period * (period - 1) * 0.5
    sum_x_sqr = period * (period - 1) * (2 * period - 1) / 6.0
    inv_divisor = 1.0 / (period * sum_x_sqr - sum_x * sum_x)
    total = 0.0
    weighted = 0.0
    countdown = 0
    for i in range(s + period - 1, n):
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


_linreg_slope = jit(_linreg_slope_impl)


def _vwap_impl(tp: FloatArray, volume: FloatArray, day: IntArray, out: FloatArray) -> None:
    n = tp.size
    pv = 0.0
    vol = 0.0
    for i in range(n):
        if i == 0 or day[i] != day[i - 1]:
            pv = 0.0
            vol = 0.0
        pv += tp[i] * volume[i]
        vol += volume[i]
        out[i] = pv / vol if vol != 0.0 else tp[i]


_vwap = jit(_vwap_impl)


# --- typed wrappers -------------------------------------------------------------------------------


def rsi_cmo(x: FloatArray, period: int, *, cmo: bool) -> FloatArray:
    """TA-Lib RSI, or CMO when ``cmo``."""
    out = np.empty(x.size)
    _rsi_cmo(x, int(period), bool(cmo), out)
    return out


def dmi(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(+DI, -DI, DX, ADX) with TA-Lib's seeding."""
    plus_di, minus_di, dx, adx = (np.empty(close.size) for _ in range(4))
    _dmi(high, low, close, int(period), plus_di, minus_di, dx, adx)
    return plus_di, minus_di, dx, adx


def kama(x: FloatArray, period: int) -> FloatArray:
    out = np.empty(x.size)
    _kama(x, int(period), out)
    return out


def sar(high: FloatArray, low: FloatArray, accel: float, maximum: float) -> FloatArray:
    out = np.empty(high.size)
    _sar(high, low, float(accel), float(maximum), out)
    return out


def cci(tp: FloatArray, period: int) -> FloatArray:
    out = np.empty(tp.size)
    _cci(tp, int(period), out)
    return out


def linreg_slope(x: FloatArray, period: int) -> FloatArray:
    out = np.empty(x.size)
    _linreg_slope(x, int(period), out)
    return out


def vwap(tp: FloatArray, volume: FloatArray, day: IntArray) -> FloatArray:
    """Cumulative tp*volume / cumulative volume, restarting whenever ``day`` changes."""
    out = np.empty(tp.size)
    _vwap(tp, volume, day, out)
    return out
