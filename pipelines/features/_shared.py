"""Intermediate series several indicators share, cached on the BarData for one computation.

Array helpers (``sma``, ``ema``, ``safe_div``, ...) work on any series; the ``b``-taking helpers
memoize series of the bars themselves (the ATR, the rolling highest high, ...).
"""

from __future__ import annotations

import numpy as np

from pipelines.features import _kernels as k
from pipelines.features._kernels import FloatArray
from pipelines.features.inputs import BarData

__all__ = [
    "atr",
    "close_ema",
    "close_mean_std",
    "close_sma",
    "ema",
    "highest",
    "log_prices",
    "lowest",
    "median_price",
    "nan_like",
    "safe_div",
    "shift",
    "sma",
    "true_range",
    "typical_price",
]


def nan_like(x: FloatArray) -> FloatArray:
    return np.full(x.size, np.nan)


def sma(x: FloatArray, period: int) -> FloatArray:
    return k.rolling_sum(x, period, 1.0 / period)


def ema(x: FloatArray, period: int) -> FloatArray:
    """TA-Lib EMA: k = 2/(n+1), seeded with the SMA of the first n values."""
    return k.ema(x, period, 2.0 / (period + 1))


def shift(x: FloatArray, periods: int) -> FloatArray:
    """``x`` delayed by ``periods`` bars (NaN-padded at the start); only ever looks back."""
    out = np.full(x.size, np.nan)
    if periods < x.size:
        out[periods:] = x[: x.size - periods]
    return out


def safe_div(num: FloatArray, den: FloatArray, *, zero: float = 0.0) -> FloatArray:
    """num / den, with ``zero`` where den == 0 (TA-Lib's convention) and NaN where either is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[den == 0.0] = zero
    return out


def true_range(b: BarData) -> FloatArray:
    """TA-Lib TRANGE: max(high, prev close) - min(low, prev close); NaN on the first bar."""

    def make() -> FloatArray:
        out = np.empty(len(b))
        if len(b) == 0:
            return out
        prev_close = b.close[:-1]
        hi = np.maximum(b.high[1:], prev_close)
        lo = np.minimum(b.low[1:], prev_close)
        np.subtract(hi, lo, out=out[1:])
        out[0] = np.nan
        return out

    return b.memo("true_range", make)


def atr(b: BarData, period: int) -> FloatArray:
    """TA-Lib ATR: Wilder smoothing of the true range seeded with its first ``period``-bar mean."""
    return b.memo(("atr", period), lambda: k.ema(true_range(b), period, 1.0 / period))


def typical_price(b: BarData) -> FloatArray:
    return b.memo("typical_price", lambda: (b.high + b.low + b.close) / 3.0)


def median_price(b: BarData) -> FloatArray:
    return b.memo("median_price", lambda: (b.high + b.low) / 2.0)


def close_sma(b: BarData, period: int) -> FloatArray:
    return b.memo(("close_sma", period), lambda: sma(b.close, period))


def close_ema(b: BarData, period: int) -> FloatArray:
    return b.memo(("close_ema", period), lambda: ema(b.close, period))


def close_mean_std(b: BarData, period: int, ddof: int = 0) -> tuple[FloatArray, FloatArray]:
    return b.memo(("close_mean_std", period, ddof), lambda: k.rolling_mean_std(b.close, period, ddof))


def highest(b: BarData, period: int, column: str = "high") -> FloatArray:
    """Rolling max of a bar column over ``period`` bars."""
    return b.memo(("max", column, period), lambda: k.rolling_extreme(getattr(b, column), period, is_max=True))


def lowest(b: BarData, period: int, column: str = "low") -> FloatArray:
    return b.memo(
        ("min", column, period), lambda: k.rolling_extreme(getattr(b, column), period, is_max=False)
    )


def log_prices(b: BarData) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Natural logs of open, high, low, close (range-based volatility estimators use them all)."""

    def make() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(b.open), np.log(b.high), np.log(b.low), np.log(b.close)

    return b.memo("log_prices", make)
