"""Moving averages of close and MACD (category ``trend``), matching TA-Lib's seeding."""

from __future__ import annotations

import math

import numpy as np

from pipelines.features import _kernels as k
from pipelines.features import _ta_kernels as ta
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import close_ema, close_sma, ema, nan_like, sma
from pipelines.features.inputs import BarData
from pipelines.features.registry import indicator

__all__ = ["aligned_ema", "hull", "macd_lines", "trima"]


@indicator("sma", category="trend", description="Simple moving average of close (TA-Lib SMA).")
def _sma(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (close_sma(b, period),)


@indicator(
    "ema",
    category="trend",
    description="Exponential moving average of close, k=2/(n+1), seeded with the SMA of the first n bars.",
)
def _ema(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (close_ema(b, period),)


@indicator("wma", category="trend", description="Linearly weighted moving average of close (TA-Lib WMA).")
def _wma(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (k.wma(b.close, period),)


@indicator("dema", category="trend", description="Double EMA: 2*EMA - EMA(EMA) (TA-Lib DEMA).")
def _dema(b: BarData, period: int = 20) -> tuple[FloatArray]:
    e1 = close_ema(b, period)
    out = ema(e1, period)
    np.subtract(2.0 * e1, out, out=out)
    return (out,)


@indicator(
    "tema", category="trend", description="Triple EMA: 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA)) (TA-Lib TEMA)."
)
def _tema(b: BarData, period: int = 20) -> tuple[FloatArray]:
    e1 = close_ema(b, period)
    e2 = ema(e1, period)
    out = ema(e2, period)
    out += 3.0 * e1 - 3.0 * e2
    return (out,)


def trima(x: FloatArray, period: int) -> FloatArray:
    """TA-Lib TRIMA: an SMA of an SMA whose lengths add up to ``period`` + 1."""
    if period % 2:
        half = (period + 1) // 2
        return sma(sma(x, half), half)
    return sma(sma(x, period // 2), period // 2 + 1)


@indicator("trima", category="trend", description="Triangular moving average of close (TA-Lib TRIMA).")
def _trima(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (trima(b.close, period),)


@indicator(
    "kama",
    category="trend",
    description="Kaufman adaptive moving average, efficiency ratio over n bars, 2/30 constants (TA-Lib).",
)
def _kama(b: BarData, period: int = 10) -> tuple[FloatArray]:
    return (ta.kama(b.close, period),)


def hull(x: FloatArray, period: int) -> FloatArray:
    """Hull MA: WMA(2*WMA(n/2) - WMA(n), floor(sqrt(n)))."""
    raw = k.wma(x, period // 2)
    raw *= 2.0
    raw -= k.wma(x, period)
    return k.wma(raw, max(1, math.isqrt(period)))


@indicator("hma", category="trend", description="Hull moving average of close.", minimums={"period": 2})
def _hma(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (hull(b.close, period),)


def aligned_ema(x: FloatArray, fast: int, slow: int) -> FloatArray:
    """The fast EMA as TA-Lib's MACD computes it: seeded on the bar where the slow EMA starts."""
    out = nan_like(x)
    start = k.first_valid(x) + slow - fast
    if start < x.size:
        out[start:] = ema(x[start:], fast)
    return out


def macd_lines(b: BarData, fast: int, slow: int) -> FloatArray:
    """The MACD line (aligned fast EMA - slow EMA); TA-Lib swaps fast and slow when reversed."""
    fast, slow = min(fast, slow), max(fast, slow)

    def make() -> FloatArray:
        line = aligned_ema(b.close, fast, slow)
        line -= close_ema(b, slow)
        return line

    return b.memo(("macd_line", fast, slow), make)


@indicator(
    "macd",
    category="trend",
    outputs=("macd", "macd_signal", "macd_hist"),
    description="MACD line, signal (EMA of the line) and histogram; all start where the signal does (TA-Lib).",
)
def _macd(b: BarData, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[FloatArray, ...]:
    line = macd_lines(b, fast, slow).copy()
    sig = ema(line, signal)
    line[: k.first_valid(sig)] = np.nan
    return line, sig, line - sig
