"""Numba kernels: the recursive and windowed loops that numpy cannot vectorize.

Each kernel is a typed Python function compiled with ``njit(cache=True, nogil=True)`` and called
through a typed wrapper, so mypy checks every caller and numba caches the machine code on disk.
Kernels are few and generic (one EMA, one rolling sum, one rolling extreme, ...) to keep the
cold compile short. Every kernel starts at the first non-NaN value of its input, as TA-Lib's
Python wrapper does, so an indicator of an indicator (the EMA of the MACD line) needs no special
case. Inputs must be C-contiguous float64 arrays (one numba specialisation each).

Running sums are re-computed from scratch every ``_RESYNC`` steps so rounding cannot drift over
millions of bars; the rolling variance uses Welford's add/remove update, never E[x²]-E[x]².
"""

from __future__ import annotations

from typing import TypeAlias, cast

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "FloatArray",
    "IntArray",
    "cci",
    "dmi",
    "ema",
    "first_valid",
    "kama",
    "linreg_slope",
    "rolling_extreme",
    "rolling_mean_std",
    "rolling_sum",
    "rsi_cmo",
    "sar",
    "vwap",
    "wma",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]

_jit = njit(cache=True, nogil=True)
_RESYNC = 1024
_EPS = 1e-14  # TA-Lib's TA_EPSILON: |v| < _EPS counts as zero in its divisions


def _first_valid_impl(x: FloatArray) -> int:
    for i in range(x.size):
        if not np.isnan(x[i]):
            return i
    return x.size


_first_valid = _jit(_first_valid_impl)


def _ema_impl(x: FloatArray, seed_len: int, alpha: float, wilder: bool) -> FloatArray:
    n = x.size
    out = np.full(n, np.nan)
    s = _first_valid(x)
    if n - s < seed_len:
        return out
    acc = 0.0
    for i in range(s, s + seed_len):
        acc += x[i]
    prev = acc / seed_len
    out[s + seed_len - 1] = prev
    if wilder:
        for i in range(s + seed_len, n):
            prev = (prev * (seed_len - 1) + x[i]) / seed_len
            out[i] = prev
    else:
        for i in range(s + seed_len, n):
            prev = (x[i] - prev) * alpha + prev
            out[i] = prev
    return out


_ema = _jit(_ema_impl)


def _rolling_sum_impl(x: FloatArray, w: int) -> FloatArray:
    n = x.size
    out = np.full(n, np.nan)
    s = _first_valid(x)
    if n - s < w:
        return out
    acc = 0.0
    for i in range(s, s + w):
        acc += x[i]
    out[s + w - 1] = acc
    countdown = _RESYNC
    for i in range(s + w, n):
        countdown -= 1
        if countdown == 0:
            countdown = _RESYNC
            acc = 0.0
            for j in range(i - w + 1, i + 1):
                acc += x[j]
        else:
            acc += x[i] - x[i - w]
        out[i] = acc
    return out


_rolling_sum = _jit(_rolling_sum_impl)


def _rolling_mean_std_impl(x: FloatArray, w: int, ddof: int) -> tuple[FloatArray, FloatArray]:
    n = x.size
    mean_out = np.full(n, np.nan)
    std_out = np.full(n, np.nan)
    s = _first_valid(x)
    if n - s < w or w - ddof <= 0:
        return mean_out, std_out
    countdown = 0
    mean = 0.0
    m2 = 0.0
    for i in range(s + w - 1, n):
        if countdown == 0:  # exact two-pass over the window, then cheap updates
            countdown = _RESYNC
            acc = 0.0
            for j in range(i - w + 1, i + 1):
                acc += x[j]
            mean = acc / w
            m2 = 0.0
            for j in range(i - w + 1, i + 1):
                d = x[j] - mean
                m2 += d * d
        else:
            x_in = x[i]
            x_out = x[i - w]
            delta = x_in - x_out
            new_mean = mean + delta / w
            m2 += delta * (x_in - new_mean + x_out - mean)
            mean = new_mean
            if m2 < 0.0:
                m2 = 0.0
        countdown -= 1
        mean_out[i] = mean
        std_out[i] = np.sqrt(m2 / (w - ddof))
    return mean_out, std_out


_rolling_mean_std = _jit(_rolling_mean_std_impl)


def _rolling_extreme_impl(x: FloatArray, w: int, is_max: bool) -> tuple[FloatArray, IntArray]:
    """Monotonic-deque rolling max/min; on ties the latest index wins (TA-Lib's AROON rule)."""
    n = x.size
    values = np.full(n, np.nan)
    index = np.full(n, -1, dtype=np.int64)
    s = _first_valid(x)
    if n - s < w:
        return values, index
    dq = np.empty(n - s, dtype=np.int64)  # indices only grow, so a flat buffer needs no wrap
    head = 0
    tail = 0
    for i in range(s, n):
        if tail > head and dq[head] <= i - w:
            head += 1
        xi = x[i]
        if is_max:
            while tail > head and x[dq[tail - 1]] <= xi:
                tail -= 1
        else:
            while tail > head and x[dq[tail - 1]] >= xi:
                tail -= 1
        dq[tail] = i
        tail += 1
        if i >= s + w - 1:
            j = dq[head]
            index[i] = j
            values[i] = x[j]
    return values, index


_rolling_extreme = _jit(_rolling_extreme_impl)


def _wma_impl(x: FloatArray, w: int) -> FloatArray:
    """TA-Lib's WMA running sums (weights 1..w, newest heaviest), re-synced periodically."""
    n = x.size
    out = np.full(n, np.nan)
    s = _first_valid(x)
    if n - s < w:
        return out
    divider = w * (w + 1) / 2.0
    total = 0.0
    weighted = 0.0
    for k in range(w - 1):
        total += x[s + k]
        weighted += x[s + k] * (k + 1)
    trailing = 0.0
    countdown = _RESYNC
    for i in range(s + w - 1, n):
        countdown -= 1
        if countdown == 0:
            countdown = _RESYNC
            total = 0.0
            weighted = 0.0
            for k in range(w):
                total += x[i - w + 1 + k]
                weighted += x[i - w + 1 + k] * (k + 1)
        else:
            total += x[i] - trailing
            weighted += x[i] * w
        trailing = x[i - w + 1]
        out[i] = weighted / divider
        weighted -= total
    return out


_wma = _jit(_wma_impl)


def _rsi_cmo_impl(x: FloatArray, period: int, cmo: bool) -> FloatArray:
    """Wilder-smoothed gains and losses, seeded with their plain mean (TA-Lib RSI and CMO)."""
    n = x.size
    out = np.full(n, np.nan)
    s = _first_valid(x)
    if n - s <= period:
        return out
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
    for i in range(s + period, n):
        if i > s + period:
            d = x[i] - prev
            prev = x[i]
            gain *= period - 1
            loss *= period - 1
            if d < 0.0:
                loss -= d
            else:
                gain += d
            gain /= period
            loss /= period
        total = gain + loss
        if -_EPS < total < _EPS:
            out[i] = 0.0
        elif cmo:
            out[i] = 100.0 * ((gain - loss) / total)
        else:
            out[i] = 100.0 * (gain / total)
    return out


_rsi_cmo = _jit(_rsi_cmo_impl)


def _dmi_impl(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """+DI, -DI, DX and ADX exactly as TA-Lib seeds them.

    The DM and TR sums start with period-1 raw values, are Wilder-smoothed from bar ``period`` on
    (where +DI/-DI/DX begin), and ADX is the mean of the first ``period`` DX values, output at bar
    2*period-1 and Wilder-smoothed after that.
    """
    n = close.size
    plus_di = np.full(n, np.nan)
    minus_di = np.full(n, np.nan)
    dx = np.full(n, np.nan)
    adx = np.full(n, np.nan)
    if n <= period:
        return plus_di, minus_di, dx, adx
    p_dm = 0.0
    m_dm = 0.0
    tr = 0.0
    sum_dx = 0.0
    prev_adx = 0.0
    for i in range(1, n):
        diff_p = high[i] - high[i - 1]
        diff_m = low[i - 1] - low[i]
        rng = high[i] - low[i]
        t = abs(high[i] - close[i - 1])
        if t > rng:
            rng = t
        t = abs(low[i] - close[i - 1])
        if t > rng:
            rng = t
        if i < period:
            if diff_m > 0 and diff_p < diff_m:
                m_dm += diff_m
            elif diff_p > 0 and diff_p > diff_m:
                p_dm += diff_p
            tr += rng
            continue
        m_dm -= m_dm / period
        p_dm -= p_dm / period
        if diff_m > 0 and diff_p < diff_m:
            m_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            p_dm += diff_p
        tr = tr - tr / period + rng
        has_dx = False
        dx_i = 0.0
        if -_EPS < tr < _EPS:
            plus_di[i] = 0.0
            minus_di[i] = 0.0
        else:
            mdi = 100.0 * (m_dm / tr)
            pdi = 100.0 * (p_dm / tr)
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
                prev_adx = sum_dx / period
                adx[i] = prev_adx
        else:
            if has_dx:
                prev_adx = (prev_adx * (period - 1) + dx_i) / period
            adx[i] = prev_adx
    return plus_di, minus_di, dx, adx


_dmi = _jit(_dmi_impl)


def _kama_impl(x: FloatArray, period: int) -> FloatArray:
    """TA-Lib KAMA: efficiency ratio over ``period`` changes, fast 2 / slow 30 constants."""
    n = x.size
    out = np.full(n, np.nan)
    s = _first_valid(x)
    if n - s <= period:
        return out
    const_max = 2.0 / (30.0 + 1.0)
    const_diff = 2.0 / (2.0 + 1.0) - const_max
    sum_roc = 0.0
    for i in range(s, s + period):
        sum_roc += abs(x[i] - x[i + 1])
    prev = x[s + period - 1]
    for i in range(s + period, n):
        if i > s + period:
            sum_roc -= abs(x[i - period - 1] - x[i - period])
            sum_roc += abs(x[i] - x[i - 1])
        roc = x[i] - x[i - period]
        if sum_roc <= roc or (-_EPS < sum_roc < _EPS):
            er = 1.0
        else:
            er = abs(roc / sum_roc)
        sc = er * const_diff + const_max
        sc *= sc
        prev = (x[i] - prev) * sc + prev
        out[i] = prev
    return out


_kama = _jit(_kama_impl)


def _sar_impl(high: FloatArray, low: FloatArray, accel: float, maximum: float) -> FloatArray:
    """TA-Lib SAR: the first trend is short when bar 1 has a positive minus-DM, long otherwise."""
    n = high.size
    out = np.full(n, np.nan)
    if n < 2:
        return out
    if accel > maximum:
        accel = maximum
    af = accel
    diff_m = low[0] - low[1]
    diff_p = high[1] - high[0]
    is_long = not (diff_m > 0 and diff_p < diff_m)
    if is_long:
        ep = high[1]
        sar = low[0]
    else:
        ep = low[1]
        sar = high[0]
    new_low = low[1]
    new_high = high[1]
    for i in range(1, n):
        prev_low = new_low
        prev_high = new_high
        new_low = low[i]
        new_high = high[i]
        if is_long:
            if new_low <= sar:
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
        elif new_high >= sar:
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
    return out


_sar = _jit(_sar_impl)


def _cci_impl(tp: FloatArray, period: int) -> FloatArray:
    """TA-Lib CCI: (tp - SMA) / (0.015 * mean absolute deviation); 0 when either part is 0."""
    n = tp.size
    out = np.full(n, np.nan)
    s = _first_valid(tp)
    for i in range(s + period - 1, n):
        acc = 0.0
        for j in range(i - period + 1, i + 1):
            acc += tp[j]
        mean = acc / period
        dev = 0.0
        for j in range(i - period + 1, i + 1):
            dev += abs(tp[j] - mean)
        num = tp[i] - mean
        if num != 0.0 and dev != 0.0:
            out[i] = num / (0.015 * (dev / period))
        else:
            out[i] = 0.0
    return out


_cci = _jit(_cci_impl)


def _linreg_slope_impl(x: FloatArray, period: int) -> FloatArray:
    """TA-Lib LINEARREG_SLOPE: least-squares slope per bar over the last ``period`` values."""
    n = x.size
    out = np.full(n, np.nan)
    s = _first_valid(x)
    sum_x = period * (period - 1) * 0.5
    sum_x_sqr = period * (period - 1) * (2 * period - 1) / 6.0
    divisor = sum_x * sum_x - period * sum_x_sqr
    for i in range(s + period - 1, n):
        sum_xy = 0.0
        sum_y = 0.0
        for k in range(period - 1, -1, -1):  # k = bars ago, as TA-Lib counts
            v = x[i - k]
            sum_y += v
            sum_xy += k * v
        out[i] = (period * sum_xy - sum_x * sum_y) / divisor
    return out


_linreg_slope = _jit(_linreg_slope_impl)


def _vwap_impl(tp: FloatArray, volume: FloatArray, day: IntArray) -> FloatArray:
    n = tp.size
    out = np.empty(n)
    pv = 0.0
    vol = 0.0
    for i in range(n):
        if i == 0 or day[i] != day[i - 1]:
            pv = 0.0
            vol = 0.0
        pv += tp[i] * volume[i]
        vol += volume[i]
        out[i] = pv / vol if vol != 0.0 else tp[i]
    return out


_vwap = _jit(_vwap_impl)


# --- typed wrappers -------------------------------------------------------------------------------


def first_valid(x: FloatArray) -> int:
    """Index of the first non-NaN value (``len(x)`` when there is none)."""
    return int(_first_valid(x))


def ema(x: FloatArray, seed_len: int, alpha: float, *, wilder: bool = False) -> FloatArray:
    """EMA seeded with the mean of the first ``seed_len`` values; ``wilder`` uses (p*(n-1)+x)/n."""
    return cast(FloatArray, _ema(x, int(seed_len), float(alpha), bool(wilder)))


def rolling_sum(x: FloatArray, window: int) -> FloatArray:
    return cast(FloatArray, _rolling_sum(x, int(window)))


def rolling_mean_std(x: FloatArray, window: int, ddof: int = 0) -> tuple[FloatArray, FloatArray]:
    return cast(tuple[FloatArray, FloatArray], _rolling_mean_std(x, int(window), int(ddof)))


def rolling_extreme(x: FloatArray, window: int, *, is_max: bool) -> tuple[FloatArray, IntArray]:
    """Rolling max (or min) and the index where it occurs (-1 during warm-up)."""
    return cast(tuple[FloatArray, IntArray], _rolling_extreme(x, int(window), bool(is_max)))


def wma(x: FloatArray, window: int) -> FloatArray:
    return cast(FloatArray, _wma(x, int(window)))


def rsi_cmo(x: FloatArray, period: int, *, cmo: bool) -> FloatArray:
    return cast(FloatArray, _rsi_cmo(x, int(period), bool(cmo)))


def dmi(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(+DI, -DI, DX, ADX) with TA-Lib's seeding."""
    return cast(tuple[FloatArray, FloatArray, FloatArray, FloatArray], _dmi(high, low, close, int(period)))


def kama(x: FloatArray, period: int) -> FloatArray:
    return cast(FloatArray, _kama(x, int(period)))


def sar(high: FloatArray, low: FloatArray, accel: float, maximum: float) -> FloatArray:
    return cast(FloatArray, _sar(high, low, float(accel), float(maximum)))


def cci(tp: FloatArray, period: int) -> FloatArray:
    return cast(FloatArray, _cci(tp, int(period)))


def linreg_slope(x: FloatArray, period: int) -> FloatArray:
    return cast(FloatArray, _linreg_slope(x, int(period)))


def vwap(tp: FloatArray, volume: FloatArray, day: IntArray) -> FloatArray:
    """Cumulative tp*volume / cumulative volume, restarting whenever ``day`` changes."""
    return cast(FloatArray, _vwap(tp, volume, day))
