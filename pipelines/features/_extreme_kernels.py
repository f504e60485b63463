"""Numba kernels for a window's extremes: Aroon (by index, as TA-Lib) and the Donchian channel.

Aroon keeps the index of the window's highest high and lowest low; a new bar replaces it when it is
at least as extreme (ties go to the latest bar), and only when that index leaves the window is the
window scanned again. On a random walk that happens on ~13% of bars per column for 25 bars, so a
bar costs two compares and two selects plus that share of a scan. The worst case, a series that
keeps falling (or rising) for the whole run, rescans every bar: O(period) a bar, as TA-Lib. A
resumed run (see ``_tape``) gets both indices back as distances from its start in ``state`` and
re-reads their values from the prices, so it continues exactly where the full run was. The
Donchian channel needs values only, so it uses blocks instead (see ``_donchian``). The loops index
0-based views, which spares numba's negative-index wraparound on every access (see
``_bar_kernels._wilder_tr``).
"""

from __future__ import annotations

from pipelines.features._kernels import FloatArray, _first_valid, _nan_head, jit
from pipelines.features._tape import run_kernel

__all__ = ["aroon", "aroon_osc", "donchian"]


def _aroon_impl(
    high: FloatArray,
    low: FloatArray,
    period: int,
    up: FloatArray,
    down: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """TA-Lib AROON: 100 * (period - bars since the highest high / lowest low of period + 1 bars)
    / period; with an empty ``down``, up - down into ``up`` (TA-Lib AROONOSC)."""
    n = high.size
    factor = 100.0 / period
    if start:
        hi, lo = start - int(state[0]), start - int(state[1])
    else:
        _nan_head(up, period)
        _nan_head(down, period)
        if n <= period:
            return False
        start = period
        hi = lo = -1  # nothing tracked yet: the first bar scans its window
    base = start - period  # views from the first bar's window: bar ``base + k`` is index k
    hs, ls, us, ds = high[base:], low[base:], up[start:], down[start:] if down.size else down
    hi -= base
    lo -= base
    hv = hs[hi] if hi >= 0 else 0.0
    lv = ls[lo] if lo >= 0 else 0.0
    for j in range(n - start):  # bar j + period; its window starts at j
        cur = j + period
        if hi < j:  # the highest left the window: scan the window before this bar again
            hi, hv = j, hs[j]
            for k in range(j + 1, cur):
                v = hs[k]
                take = v >= hv  # selects, not branches: a new extreme is unpredictable
                hi = k if take else hi
                hv = v if take else hv
        if lo < j:
            lo, lv = j, ls[j]
            for k in range(j + 1, cur):
                v = ls[k]
                take = v <= lv
                lo = k if take else lo
                lv = v if take else lv
        v = hs[cur]
        take = v >= hv
        hi = cur if take else hi
        hv = v if take else hv
        v = ls[cur]
        take = v <= lv
        lo = cur if take else lo
        lv = v if take else lv
        if ds.size:
            us[j] = factor * (period - (cur - hi))
            ds[j] = factor * (period - (cur - lo))
        else:
            us[j] = factor * (period - (cur - hi)) - factor * (period - (cur - lo))
    state[0], state[1] = n - (hi + base), n - (lo + base)
    return True


_aroon = jit(_aroon_impl)


def _window_extreme_impl(x: FloatArray, last: int, period: int, is_max: bool) -> float:
    """The highest (lowest) of the ``period`` values up to ``last``, by a plain scan."""
    val = x[last - period + 1]
    for k in range(last - period + 2, last + 1):
        v = x[k]
        val = (v if v > val else val) if is_max else (v if v < val else val)
    return float(val)


_window_extreme = jit(_window_extreme_impl)


def _donchian_head_impl(
    high: FloatArray, low: FloatArray, period: int, upper: FloatArray, lower: FloatArray, middle: FloatArray
) -> int:
    """The warm-up: NaN until each column's first full window from its first valid value; where
    one column starts later, the other's values until then by plain scans. Returns the first bar
    with both, where the tracking loop starts."""
    n = high.size
    sh, sl = _first_valid(high), _first_valid(low)
    both = max(sh, sl) + period - 1
    _nan_head(upper, sh + period - 1)
    _nan_head(lower, sl + period - 1)
    _nan_head(middle, both)
    for i in range(sh + period - 1, min(both, n)):
        upper[i] = _window_extreme(high, i, period, True)
    for i in range(sl + period - 1, min(both, n)):
        lower[i] = _window_extreme(low, i, period, False)
    return both


_donchian_head = jit(_donchian_head_impl)


def _suffix_pair_impl(
    high: FloatArray, low: FloatArray, b: int, e: int, suf_h: FloatArray, suf_l: FloatArray
) -> None:
    """suf_h[i - b] = the highest of high[i:e], suf_l[i - b] the lowest of low[i:e], for [b, e)."""
    top = high[e - 1]
    bottom = low[e - 1]
    suf_h[e - 1 - b] = top
    suf_l[e - 1 - b] = bottom
    for i in range(e - 2, b - 1, -1):
        top = max(top, high[i])
        bottom = min(bottom, low[i])
        suf_h[i - b] = top
        suf_l[i - b] = bottom


_suffix_pair = jit(_suffix_pair_impl)


def _donchian_impl(
    high: FloatArray,
    low: FloatArray,
    period: int,
    upper: FloatArray,
    lower: FloatArray,
    middle: FloatArray,
    start: int,
    state: FloatArray,
) -> bool:
    """Highest high, lowest low and their midpoint over ``period`` bars (TA-Lib MAX, MIN,
    MIDPRICE), each from its column's first valid value, in one pass.

    Values, not indices, so the van Herk/Gil-Werman blocks of ``rolling_extreme`` (the same
    operations, so the same values) for both columns at once: no data-dependent branch, ~4
    max/min a bar. ``state``: how far the last block got, then the two suffix buffers, which a
    resumed run rebuilds from the block before its start.
    """
    n = high.size
    w = period
    suf_h, suf_l = state[1 : 1 + w], state[1 + w : 1 + 2 * w]
    if start:
        first = start - int(state[0])
        _suffix_pair(high, low, first - w, first, suf_h, suf_l)
        ready = start
    else:
        ready = _donchian_head(high, low, period, upper, lower, middle)
        if ready >= n:
            return False
        first = ready - w + 1
    for b in range(first, n, w):
        e = min(b + w, n)
        hb, lb, ub, lwb, mb = high[b:e], low[b:e], upper[b:e], lower[b:e], middle[b:e]
        top = hb[0]
        bottom = lb[0]
        for k in range(max(ready - b, 0)):  # the first block's partial windows: prefixes only
            top = max(top, hb[k])
            bottom = min(bottom, lb[k])
        for k in range(max(ready - b, 0), e - b):
            top = max(top, hb[k])
            bottom = min(bottom, lb[k])
            hi = max(suf_h[k + 1], top) if k + 1 < w else top
            lo = min(suf_l[k + 1], bottom) if k + 1 < w else bottom
            ub[k] = hi
            lwb[k] = lo
            mb[k] = (hi + lo) * 0.5
        _suffix_pair(high, low, b, e, suf_h, suf_l)
    state[0] = (n - first) % w
    return True


_donchian = jit(_donchian_impl)


# --- typed wrappers: the outputs must not alias an input -------------------------------------------


def aroon(high: FloatArray, low: FloatArray, period: int, up: FloatArray, down: FloatArray) -> None:
    run_kernel(_aroon, (up, down), 2, high, low, int(period), up, down)


def aroon_osc(high: FloatArray, low: FloatArray, period: int, out: FloatArray) -> None:
    """Aroon up - Aroon down in one pass, without either line."""
    run_kernel(_aroon, (out,), 2, high, low, int(period), out, out[:0])


def donchian(
    high: FloatArray, low: FloatArray, period: int, upper: FloatArray, lower: FloatArray, middle: FloatArray
) -> None:
    period = int(period)
    run_kernel(_donchian, (upper, lower, middle), 1 + 2 * period, high, low, period, upper, lower, middle)
