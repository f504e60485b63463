"""Numba kernels for TA-Lib indicators kept as n-bar running sums: MFI, ULTOSC, vortex.

MFI and vortex keep the last n per-bar terms in ring buffers that live in their ``state`` (so a
resumed run continues them, see ``_tape``); ULTOSC recomputes the leaving bar's terms from the
prices, as TA-Lib does. All re-sum their windows every ``RESYNC`` bars so rounding cannot drift;
see ``_kernels`` for the other conventions.
"""

from __future__ import annotations

from pipelines.features._kernels import EPS, RESYNC, FloatArray, _nan_head, _out, jit
from pipelines.features._tape import run_kernel

__all__ = ["mfi", "ultosc", "vortex"]


_TIE = 1e-8  # TA-Lib's TA_IS_ZERO: typical prices closer than this are equal


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
    begin = start
    ready = 0
    if not start:
        _nan_head(out, period)
        if n <= period:
            return False
        state[:] = 0.0
        state[2] = (high[0] + low[0] + close[0]) / 3.0
        state[4] = RESYNC
        begin = 1
        ready = period
    pos_sum, neg_sum, prev_tp = state[0], state[1], state[2]
    slot = int(state[3])
    countdown = int(state[4])
    for i in range(begin, n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        flow = tp * volume[i]
        change = tp - prev_tp  # within TA-Lib's zero (1e-8) it is a tie: no flow either way
        pos = flow if change > _TIE else 0.0
        neg = flow if change < -_TIE else 0.0
        prev_tp = tp
        pos_sum += pos - pos_buf[slot]
        neg_sum += neg - neg_buf[slot]
        pos_buf[slot] = pos
        neg_buf[slot] = neg
        slot = slot + 1 if slot + 1 < period else 0
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            pos_sum, neg_sum = pos_buf.sum(), neg_buf.sum()
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


def _bp_tr_impl(h: float, lo: float, c: float, prev: float) -> tuple[float, float]:
    """ULTOSC's terms of one bar: buying pressure (close - true low) and true range."""
    true_low = min(lo, prev)
    return c - true_low, max(h, prev) - true_low


_bp_tr = jit(_bp_tr_impl)


def _less_terms_impl(b: float, t: float, h: float, lo: float, c: float, prev: float) -> tuple[float, float]:
    """The sums ``b``, ``t`` less one bar's buying pressure and true range."""
    bp, tr = _bp_tr(h, lo, c, prev)
    return b - bp, t - tr


_less_terms = jit(_less_terms_impl)


def _ultosc_sums_impl(
    high: FloatArray, low: FloatArray, close: FloatArray, last: int, count: int
) -> tuple[float, float]:
    """The sums of buying pressure and true range over the ``count`` bars up to ``last``, oldest first."""
    b = t = 0.0
    for i in range(last - count + 1, last + 1):
        bp, tr = _bp_tr(high[i], low[i], close[i], close[i - 1])
        b += bp
        t += tr
    return b, t


_ultosc_sums = jit(_ultosc_sums_impl)


def _ultosc_seed_impl(
    high: FloatArray, low: FloatArray, close: FloatArray, periods: tuple[int, int, int], state: FloatArray
) -> None:
    """The state before bar p3: the re-sync countdown (bars 1, 2, ... count down from RESYNC) and
    the sums over the p_k - 1 bars before it."""
    p1, p2, p3 = periods
    state[0] = RESYNC - (p3 - 1) % RESYNC
    state[1], state[4] = _ultosc_sums(high, low, close, p3 - 1, p1 - 1)
    state[2], state[5] = _ultosc_sums(high, low, close, p3 - 1, p2 - 1)
    state[3], state[6] = _ultosc_sums(high, low, close, p3 - 1, p3 - 1)


_ultosc_seed = jit(_ultosc_seed_impl)


def _ratio_impl(b: float, t: float) -> float:
    """b / t, 0 where t is within TA-Lib's zero (``EPS``)."""
    return 0.0 if -EPS < t < EPS else b / t


_ratio = jit(_ratio_impl)


def _ultosc_impl(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    periods: tuple[int, int, int],
    out: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """TA-Lib ULTOSC with sorted periods p1 < p2 < p3: 100 * (4 a1 + 2 a2 + a3) / 7, where a_k is
    the p_k-bar sum of buying pressure (close - true low) over the p_k-bar sum of true range.

    As TA-Lib: one pass, the running sums gain the bar's terms and, after its output, lose those
    of the bar leaving each window, recomputed from the prices (no ring buffer). All reads go
    through 0-based views (see ``_bar_kernels._wilder_tr``). Every ``RESYNC`` bars (at the same
    series positions in a resumed run) the sums are recomputed from the windows, so rounding
    cannot drift and a NaN price stops counting once it has left them. ``state``: the countdown
    to that, then the sums of the last p_k - 1 bars' terms (b1, b2, b3, t1, t2, t3).
    """
    n = close.size
    p1, p2, p3 = periods
    if not start:
        _nan_head(out, p3)
        if n <= p3:
            return False
        _ultosc_seed(high, low, close, periods, state)
        start = p3
    countdown = int(state[0])
    b1, b2, b3, t1, t2, t3 = state[1], state[2], state[3], state[4], state[5], state[6]
    m = n - start
    h, lo, c, pc, os = high[start:], low[start:], close[start:], close[start - 1 :], out[start:]
    a1, a2, a3 = start - p1 + 1, start - p2 + 1, start - p3 + 1  # the first bars leaving the windows
    h1, l1, c1, q1 = high[a1:], low[a1:], close[a1:], close[a1 - 1 :]
    h2, l2, c2, q2 = high[a2:], low[a2:], close[a2:], close[a2 - 1 :]
    h3, l3, c3, q3 = high[a3:], low[a3:], close[a3:], close[a3 - 1 :]
    for j in range(m):
        bp, tr = _bp_tr(h[j], lo[j], c[j], pc[j])
        b1 += bp
        b2 += bp
        b3 += bp
        t1 += tr
        t2 += tr
        t3 += tr
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            b1, t1 = _ultosc_sums(high, low, close, start + j, p1)
            b2, t2 = _ultosc_sums(high, low, close, start + j, p2)
            b3, t3 = _ultosc_sums(high, low, close, start + j, p3)
        acc = 4.0 * _ratio(b1, t1) + 2.0 * _ratio(b2, t2) + _ratio(b3, t3)
        os[j] = 100.0 * (acc / 7.0)
        b1, t1 = _less_terms(b1, t1, h1[j], l1[j], c1[j], q1[j])  # the bars leaving the windows
        b2, t2 = _less_terms(b2, t2, h2[j], l2[j], c2[j], q2[j])
        b3, t3 = _less_terms(b3, t3, h3[j], l3[j], c3[j], q3[j])
    state[0] = countdown
    state[1], state[2], state[3], state[4], state[5], state[6] = b1, b2, b3, t1, t2, t3
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
    begin = start
    ready = 0
    if not start:
        _nan_head(plus, period)
        _nan_head(minus, period)
        if n <= period:
            return False
        state[:] = 0.0
        state[4] = RESYNC
        begin = 1
        ready = period
    s_vp, s_vm, s_tr = state[0], state[1], state[2]
    slot = int(state[3])
    countdown = int(state[4])
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
            s_vp, s_vm, s_tr = vp_buf.sum(), vm_buf.sum(), tr_buf.sum()
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
    run_kernel(_ultosc, (out,), 7, high, low, close, (p1, p2, p3), out)


def vortex(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, plus: FloatArray, minus: FloatArray
) -> None:
    period = int(period)
    run_kernel(_vortex, (plus, minus), 5 + 3 * period, high, low, close, period, plus, minus)
