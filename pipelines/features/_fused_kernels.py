"""Element-wise kernels: one pass over memory where numpy needs several passes and temporaries.

Each computes, in the same order of floating-point operations, exactly what the numpy expression
it replaces computed (results are bit-for-bit the same), but reads its inputs once and writes its
output once. They keep no state between bars and look back a fixed number of bars at most, so the
kernel tape needs nothing from them (see ``_tape``). ``out`` may alias an input read at the same
index (element-wise), never one read at an earlier index (``ratio_change`` and ``difference``).
"""

from __future__ import annotations

import numpy as np

from pipelines.features._kernels import EPS, FloatArray, _true_range_of, jit

__all__ = [
    "bop",
    "difference",
    "lagged_mean",
    "money_flow_volume",
    "range_ratio",
    "ratio_change",
    "safe_div",
    "scaled_div",
    "true_range",
]


def _safe_div_impl(num: FloatArray, den: FloatArray, zero: float, out: FloatArray) -> None:
    for i in range(out.size):
        d = den[i]
        out[i] = zero if d == 0.0 else num[i] / d


_safe_div = jit(_safe_div_impl)


def _scaled_div_impl(num: FloatArray, scale: float, den: FloatArray, out: FloatArray) -> None:
    for i in range(out.size):
        d = den[i]
        out[i] = 0.0 if d == 0.0 else (num[i] * scale) / d


_scaled_div = jit(_scaled_div_impl)


def _true_range_impl(high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray) -> None:
    n = close.size
    if n:
        out[0] = np.nan
    hs, ls, ps, os = high[1:], low[1:], close[: max(n - 1, 0)], out[1:]
    for j in range(n - 1):
        os[j] = _true_range_of(hs[j], ls[j], ps[j])


_true_range = jit(_true_range_impl)


def _ratio_change_impl(x: FloatArray, period: int, zero: float, scale: float, out: FloatArray) -> None:
    n = x.size
    p = min(period, n)
    for i in range(p):
        out[i] = np.nan
    xs, bs, os = x[p:], x[: n - p], out[p:]  # 0-based views: no index wraparound per access
    for j in range(n - p):
        base = bs[j]
        ratio = zero if base == 0.0 else xs[j] / base
        os[j] = (ratio - 1.0) * scale


_ratio_change = jit(_ratio_change_impl)


def _difference_impl(x: FloatArray, period: int, out: FloatArray) -> None:
    n = x.size
    p = min(period, n)
    for i in range(p):
        out[i] = np.nan
    xs, bs, os = x[p:], x[: n - p], out[p:]
    for j in range(n - p):
        os[j] = xs[j] - bs[j]


_difference = jit(_difference_impl)


def _lagged_mean_impl(x: FloatArray, lag: int, out: FloatArray) -> None:
    n = x.size
    p = min(lag, n)
    for i in range(p):
        out[i] = np.nan
    xs, bs, os = x[p:], x[: n - p], out[p:]
    for j in range(n - p):
        os[j] = (bs[j] + xs[j]) * 0.5


_lagged_mean = jit(_lagged_mean_impl)


def _range_ratio_impl(
    a: FloatArray, b: FloatArray, top: FloatArray, bottom: FloatArray, scale: float, out: FloatArray
) -> None:
    for i in range(out.size):
        den = (top[i] - bottom[i]) * scale
        out[i] = 0.0 if den == 0.0 else (a[i] - b[i]) / den


_range_ratio = jit(_range_ratio_impl)


def _bop_impl(o: FloatArray, h: FloatArray, lo: FloatArray, c: FloatArray, out: FloatArray) -> None:
    for i in range(out.size):
        rng = h[i] - lo[i]
        out[i] = 0.0 if rng < EPS else (c[i] - o[i]) / rng


_bop = jit(_bop_impl)


def _money_flow_volume_impl(
    h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, out: FloatArray
) -> None:
    for i in range(out.size):
        rng = h[i] - lo[i]
        mult = 0.0 if rng <= 0.0 else ((c[i] - lo[i]) - (h[i] - c[i])) / rng
        out[i] = mult * v[i]


_money_flow_volume = jit(_money_flow_volume_impl)


# --- typed wrappers --------------------------------------------------------------------------------


def _fast(*arrays: object) -> bool:
    """Whether every argument is a 1-d float64 array of one length (else numpy's general route)."""
    first = arrays[0]
    if not isinstance(first, np.ndarray):
        return False
    return all(
        isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype == np.float64 and a.shape == first.shape
        for a in arrays
    )


def safe_div(num: FloatArray, den: FloatArray, zero: float, out: FloatArray | None) -> FloatArray:
    """num / den, ``zero`` where den == 0; NaN where den is NaN (so too where num is)."""
    if out is None:
        out = np.empty(np.shape(num))
    if _fast(num, den, out):
        _safe_div(num, den, float(zero), out)
        return out
    zeros = np.asarray(den) == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out)
    out[zeros] = zero
    return out


def scaled_div(num: FloatArray, scale: float, den: FloatArray, out: FloatArray) -> FloatArray:
    """(num * scale) / den, 0 where den == 0."""
    _scaled_div(num, float(scale), den, out)
    return out


def true_range(high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray) -> FloatArray:
    """max(high, prior close) - min(low, prior close); NaN on the first bar and where any is NaN."""
    _true_range(high, low, close, out)
    return out


def ratio_change(x: FloatArray, period: int, zero: float, scale: float, out: FloatArray) -> FloatArray:
    """(x[t] / x[t - period] - 1) * scale, the ratio taken as ``zero`` where the base is 0."""
    _ratio_change(x, int(period), float(zero), float(scale), out)
    return out


def difference(x: FloatArray, period: int, out: FloatArray) -> FloatArray:
    """x[t] - x[t - period], NaN for the first ``period`` bars."""
    _difference(x, int(period), out)
    return out


def lagged_mean(x: FloatArray, lag: int, out: FloatArray) -> FloatArray:
    """(x[t - lag] + x[t]) / 2, NaN for the first ``lag`` bars."""
    _lagged_mean(x, int(lag), out)
    return out


def range_ratio(
    a: FloatArray, b: FloatArray, top: FloatArray, bottom: FloatArray, scale: float, out: FloatArray
) -> FloatArray:
    """(a - b) / ((top - bottom) * scale), 0 where that denominator is 0."""
    _range_ratio(a, b, top, bottom, float(scale), out)
    return out


def bop(o: FloatArray, h: FloatArray, lo: FloatArray, c: FloatArray, out: FloatArray) -> FloatArray:
    """(close - open) / (high - low), 0 where the range is below ``EPS`` (TA-Lib BOP)."""
    _bop(o, h, lo, c, out)
    return out


def money_flow_volume(
    h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, out: FloatArray
) -> FloatArray:
    """Chaikin's ((close - low) - (high - close)) / (high - low) times volume; 0 on a zero range."""
    _money_flow_volume(h, lo, c, v, out)
    return out
