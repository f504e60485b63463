"""Numba kernels for the recursive TA-Lib indicators: RSI/CMO, DMI/ADX, SAR, MACD (KAMA: ``_kernels``).

Each mirrors the TA-Lib C function it is named after (same seeding and first output bar); see
``_kernels`` for the conventions (typed wrappers, first-valid start, constants instead of divisions).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.features._kernels import EPS as _EPS
from pipelines.features._kernels import FloatArray, _first_valid, _nan_head, _out, jit, jit_fma
from pipelines.features._tape import run_kernel

__all__ = ["dmi", "macd", "rsi_cmo", "sar"]


def _rsi_cmo_impl(
    x: FloatArray, period: int, cmo: bool, out: FloatArray, start: int, state: FloatArray
) -> bool:
    """Wilder-smoothed gains and losses seeded with their plain n-bar means (TA-Lib RSI, CMO)."""
    n = x.size
    keep = (period - 1) / period
    inv = 1.0 / period
    if start:
        prev, gain, loss = state[0], state[1], state[2]
        begin = start
        seeded = start - 1  # every bar from ``begin`` on updates the averages
    else:
        s = _first_valid(x)
        _nan_head(out, s + period)
        if n - s <= period:
            return False
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
        begin = seeded = s + period
    for i in range(begin, n):
        if i > seeded:
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
    state[0] = prev
    state[1] = gain
    state[2] = loss
    return True


_rsi_cmo = jit_fma(_rsi_cmo_impl)


def _dmi_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    plus_di: FloatArray,
    minus_di: FloatArray,
    dx: FloatArray,
    adx: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """+DI, -DI, DX and ADX exactly as TA-Lib seeds them.

    The DM and TR sums start with period-1 raw values and are Wilder-smoothed from bar ``period``
    on, where +DI/-DI/DX begin; ADX is the mean of the first ``period`` DX values, output at bar
    2*period-1 and Wilder-smoothed after that. A DX whose DI sum is ~0 is skipped, as in TA-Lib.

    Long because it is one fused loop over the bars: the DM/TR sums, the DIs, DX and ADX (with their
    two seeding phases) share its loop-carried values; splitting it costs a pass per output or a
    call per bar.
    """
    n = close.size
    keep = 1.0 - 1.0 / period
    adx_keep = (period - 1) / period
    inv = 1.0 / period
    if start:
        p_dm, m_dm, tr, sum_dx, prev_adx = state[0], state[1], state[2], state[3], state[4]
        begin = start
        offset = 2 * period  # a resumed run is past both seeding phases
    else:
        _nan_head(plus_di, period)
        _nan_head(minus_di, period)
        _nan_head(dx, period)
        _nan_head(adx, 2 * period - 1)
        p_dm = m_dm = tr = sum_dx = prev_adx = 0.0
        begin = 1
        offset = 0
    for i in range(begin, n):
        at = i + offset
        diff_p = high[i] - high[i - 1]
        diff_m = low[i - 1] - low[i]
        rng = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        plus = diff_p if (diff_p > 0 and diff_p > diff_m) else 0.0
        minus = diff_m if (diff_m > 0 and diff_p < diff_m) else 0.0
        if at < period:
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
        if at < 2 * period:
            if has_dx:
                sum_dx += dx_i
            if at == 2 * period - 1:
                prev_adx = sum_dx * inv
                adx[i] = prev_adx
        else:
            if has_dx:
                prev_adx = prev_adx * adx_keep + dx_i * inv
            adx[i] = prev_adx
    state[0] = p_dm
    state[1] = m_dm
    state[2] = tr
    state[3] = sum_dx
    state[4] = prev_adx
    return n >= 2 * period


_dmi = jit_fma(_dmi_impl)


def _sar_seed_impl(high: FloatArray, low: FloatArray, accel: float, state: FloatArray) -> None:
    """The state on bar 1: (is long, acceleration, extreme point, SAR, the bar's low and high); the
    trend is short when bar 1 has a positive minus-DM larger than its plus-DM."""
    diff_m = low[0] - low[1]
    diff_p = high[1] - high[0]
    is_long = not (diff_m > 0 and diff_p < diff_m)
    state[0] = 1.0 if is_long else 0.0
    state[1] = accel
    state[2] = high[1] if is_long else low[1]
    state[3] = low[0] if is_long else high[0]
    state[4] = low[1]
    state[5] = high[1]


_sar_seed = jit(_sar_seed_impl)


def _sar_impl(
    high: FloatArray,
    low: FloatArray,
    accel: float,
    maximum: float,
    out: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """TA-Lib SAR: the first trend is short when bar 1 has a positive minus-DM, long otherwise."""
    n = high.size
    accel = min(accel, maximum)
    begin = start
    if not start:
        _nan_head(out, 1)
        if n < 2:
            return False
        _sar_seed(high, low, accel, state)
        begin = 1
    is_long = state[0] != 0.0
    af, ep, sar, new_low, new_high = state[1], state[2], state[3], state[4], state[5]
    for i in range(begin, n):
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
    state[0] = 1.0 if is_long else 0.0
    state[1] = af
    state[2] = ep
    state[3] = sar
    state[4] = new_low
    state[5] = new_high
    return True


_sar = jit(_sar_impl)


def _macd_seeds_impl(x: FloatArray, s: int, fast: int, slow: int) -> tuple[float, float]:
    """The fast and slow EMAs' seeds on the slow EMA's first bar: the means of their last n values."""
    seeded = s + slow - 1
    acc_fast = 0.0
    acc_slow = 0.0
    for i in range(s, seeded + 1):
        acc_slow += x[i]
        if i > seeded - fast:
            acc_fast += x[i]
    return acc_fast / fast, acc_slow / slow


_macd_seeds = jit_fma(_macd_seeds_impl)


def _macd_impl(
    x: FloatArray,
    fast: int,
    slow: int,
    signal: int,
    line: FloatArray,
    sig: FloatArray,
    hist: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """TA-Lib MACD in one pass (fast <= slow).

    Both EMAs start on the slow EMA's first bar, each seeded with the mean of its last n values
    there; the signal is an EMA of the line seeded with the mean of its first ``signal`` values,
    and all three outputs start where the signal does.
    """
    n = x.size
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    kg = 2.0 / (signal + 1)
    if start:
        ema_fast, ema_slow, line_sum, ema_sig = state[0], state[1], state[2], state[3]
        begin = start
        seeded = first = -1  # past both seeds
    else:
        s = _first_valid(x)
        seeded = s + slow - 1
        first = seeded + signal - 1
        _nan_head(line, first)
        _nan_head(sig, first)
        _nan_head(hist, first)
        if first >= n:
            return False
        ema_fast, ema_slow = _macd_seeds(x, s, fast, slow)
        line_sum = 0.0
        ema_sig = 0.0
        begin = seeded
    for i in range(begin, n):
        if i > seeded:
            ema_fast = ema_fast * (1.0 - kf) + x[i] * kf
            ema_slow = ema_slow * (1.0 - ks) + x[i] * ks
        value = ema_fast - ema_slow
        if i < first:
            line_sum += value
            continue
        # the signal is seeded with the mean of the first ``signal`` line values
        ema_sig = (line_sum + value) / signal if i == first else ema_sig * (1.0 - kg) + value * kg
        line[i] = value
        sig[i] = ema_sig
        hist[i] = value - ema_sig
    state[0] = ema_fast
    state[1] = ema_slow
    state[2] = line_sum
    state[3] = ema_sig
    return True


_macd = jit_fma(_macd_impl)


# --- typed wrappers: ``out`` (a fresh array when None) must not alias an input --------------------


def rsi_cmo(x: FloatArray, period: int, *, cmo: bool, out: FloatArray | None = None) -> FloatArray:
    """TA-Lib RSI, or CMO when ``cmo``."""
    out = _out(x.size, out)
    run_kernel(_rsi_cmo, (out,), 3, x, int(period), bool(cmo), out)
    return out


def dmi(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    out: Sequence[FloatArray | None] = (None, None, None, None),
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(+DI, -DI, DX, ADX) with TA-Lib's seeding, each into its ``out`` array when given."""
    plus_di, minus_di, dx, adx = (_out(close.size, o) for o in out)
    lines = plus_di, minus_di, dx, adx
    run_kernel(_dmi, lines, 5, high, low, close, int(period), plus_di, minus_di, dx, adx)
    return plus_di, minus_di, dx, adx


def sar(
    high: FloatArray, low: FloatArray, accel: float, maximum: float, out: FloatArray | None = None
) -> FloatArray:
    out = _out(high.size, out)
    run_kernel(_sar, (out,), 6, high, low, float(accel), float(maximum), out)
    return out


def macd(
    x: FloatArray, fast: int, slow: int, signal: int, line: FloatArray, sig: FloatArray, hist: FloatArray
) -> None:
    """TA-Lib MACD (fast and slow swapped when reversed, as TA-Lib does) into the three outputs."""
    fast, slow = sorted((int(fast), int(slow)))
    run_kernel(_macd, (line, sig, hist), 4, x, fast, slow, int(signal), line, sig, hist)
