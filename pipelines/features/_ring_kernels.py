"""Numba kernels for TA-Lib indicators kept as ring-buffered running sums: MFI, ULTOSC, vortex.

Each keeps the last n per-bar terms in ring buffers that live in its ``state`` (so a resumed run
continues them, see ``_tape``) and re-sums them every ``RESYNC`` bars so rounding cannot drift;
see ``_kernels`` for the other conventions.
"""

from __future__ import annotations

from pipelines.features._kernels import RESYNC, FloatArray, _nan_head, _out, jit
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


def _resum_rings_impl(
    periods: tuple[int, int, int],
    at: int,
    s_bp: FloatArray,
    s_tr: FloatArray,
    bp_buf: FloatArray,
    tr_buf: FloatArray,
) -> None:
    """The re-sync: every period's sums of buying pressure and true range, from the ring buffers
    (indexed by series position modulo their length), for the window ending at position ``at``."""
    size = bp_buf.size
    for k in range(3):
        s_bp[k] = 0.0
        s_tr[k] = 0.0
        for j in range(at - periods[k] + 1, at + 1):
            s_bp[k] += bp_buf[j % size]
            s_tr[k] += tr_buf[j % size]


_resum_rings = jit(_resum_rings_impl)


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

    ``state``: the bar's position in the whole series (the rings' index), countdown, sums, rings.
    Long because it is one fused loop with the three periods' sums unrolled into locals.
    """
    n = close.size
    s_bp, s_tr = state[2:5], state[5:8]
    bp_buf, tr_buf = state[8 : 8 + p3], state[8 + p3 : 8 + 2 * p3]  # the last p3 values, by bar
    begin = start
    if not start:
        _nan_head(out, p3)
        if n <= p3:
            return False
        state[:] = 0.0
        state[1] = RESYNC
        begin = 1
    offset = int(state[0]) - start  # series position minus window position
    countdown = int(state[1])
    periods = (p1, p2, p3)
    # The sums live in locals (the rings share ``state``'s memory, so array sums would be reloaded
    # after every ring write) and the ring positions advance by one per bar, wrapped by a compare
    # instead of a division.
    b1, b2, b3, t1, t2, t3 = s_bp[0], s_bp[1], s_bp[2], s_tr[0], s_tr[1], s_tr[2]
    first_at = begin + offset
    slot = first_at % p3
    o1, o2, o3 = (first_at - p1) % p3, (first_at - p2) % p3, (first_at - p3) % p3
    for i in range(begin, n):
        at = i + offset
        true_low = min(low[i], close[i - 1])
        bp = close[i] - true_low
        tr = max(high[i], close[i - 1]) - true_low
        b1 += bp
        t1 += tr
        if at > p1:
            b1 -= bp_buf[o1]
            t1 -= tr_buf[o1]
        b2 += bp
        t2 += tr
        if at > p2:
            b2 -= bp_buf[o2]
            t2 -= tr_buf[o2]
        b3 += bp
        t3 += tr
        if at > p3:
            b3 -= bp_buf[o3]
            t3 -= tr_buf[o3]
        bp_buf[slot] = bp
        tr_buf[slot] = tr
        slot = 0 if slot + 1 == p3 else slot + 1
        o1 = 0 if o1 + 1 == p3 else o1 + 1
        o2 = 0 if o2 + 1 == p3 else o2 + 1
        o3 = 0 if o3 + 1 == p3 else o3 + 1
        countdown -= 1
        if countdown == 0:
            countdown = RESYNC
            if at >= p3:
                s_bp[0], s_bp[1], s_bp[2], s_tr[0], s_tr[1], s_tr[2] = b1, b2, b3, t1, t2, t3
                _resum_rings(periods, at, s_bp, s_tr, bp_buf, tr_buf)
                b1, b2, b3, t1, t2, t3 = s_bp[0], s_bp[1], s_bp[2], s_tr[0], s_tr[1], s_tr[2]
        if at >= p3:
            acc = 0.0
            if not (-1e-14 < t1 < 1e-14):
                acc += 4.0 * (b1 / t1)
            if not (-1e-14 < t2 < 1e-14):
                acc += 2.0 * (b2 / t2)
            if not (-1e-14 < t3 < 1e-14):
                acc += 1.0 * (b3 / t3)
            out[i] = 100.0 * (acc / 7.0)
    s_bp[0], s_bp[1], s_bp[2], s_tr[0], s_tr[1], s_tr[2] = b1, b2, b3, t1, t2, t3
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
    run_kernel(_ultosc, (out,), 8 + 2 * p3, high, low, close, p1, p2, p3, out)


def vortex(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, plus: FloatArray, minus: FloatArray
) -> None:
    period = int(period)
    run_kernel(_vortex, (plus, minus), 5 + 3 * period, high, low, close, period, plus, minus)
