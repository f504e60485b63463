"""Moving averages of close and MACD (category ``trend``), matching TA-Lib's seeding."""

from __future__ import annotations

import math

from pipelines.features import _kernels as k
from pipelines.features import _rolling_kernels as rw
from pipelines.features import _ta_kernels as ta
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import close_ema, close_sma, sma
from pipelines.features.indicators import Outputs, indicator
from pipelines.features.inputs import BarData

__all__ = ["hull", "trima"]


@indicator("sma", category="trend", description="Simple moving average of close (TA-Lib SMA).")
def _sma(b: BarData, out: Outputs, period: int = 20) -> None:
    close_sma(b, period, out[0])


@indicator(
    "ema",
    category="trend",
    description="Exponential moving average of close, k=2/(n+1), seeded with the SMA of the first n bars.",
)
def _ema(b: BarData, out: Outputs, period: int = 20) -> None:
    close_ema(b, period, out[0])


@indicator("wma", category="trend", description="Linearly weighted moving average of close (TA-Lib WMA).")
def _wma(b: BarData, out: Outputs, period: int = 20) -> None:
    rw.wma(b.close, period, out[0])


@indicator("dema", category="trend", description="Double EMA: 2*EMA - EMA(EMA) (TA-Lib DEMA).")
def _dema(b: BarData, out: Outputs, period: int = 20) -> None:
    k.ema_chain(b.close, period, k.DEMA, out[0])


@indicator(
    "tema", category="trend", description="Triple EMA: 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA)) (TA-Lib TEMA)."
)
def _tema(b: BarData, out: Outputs, period: int = 20) -> None:
    k.ema_chain(b.close, period, k.TEMA, out[0])


def trima(x: FloatArray, period: int, out: FloatArray, work: FloatArray) -> FloatArray:
    """TA-Lib TRIMA: an SMA of an SMA whose lengths add up to ``period`` + 1."""
    first = (period + 1) // 2 if period % 2 else period // 2
    return sma(sma(x, first, work), period + 1 - first, out)


@indicator("trima", category="trend", description="Triangular moving average of close (TA-Lib TRIMA).")
def _trima(b: BarData, out: Outputs, period: int = 20) -> None:
    with b.scratch(1) as (work,):
        trima(b.close, period, out[0], work)


@indicator(
    "kama",
    category="trend",
    description="Kaufman adaptive moving average, efficiency ratio over n bars, 2/30 constants (TA-Lib).",
)
def _kama(b: BarData, out: Outputs, period: int = 10) -> None:
    k.kama(b.close, period, out[0])


def hull(x: FloatArray, period: int, out: FloatArray, work: list[FloatArray]) -> FloatArray:
    """Hull MA: WMA(2*WMA(n/2) - WMA(n), floor(sqrt(n))); ``work`` holds two scratch arrays."""
    raw = rw.wma(x, period // 2, work[0])
    raw *= 2.0
    raw -= rw.wma(x, period, work[1])
    return rw.wma(raw, max(1, math.isqrt(period)), out)


@indicator("hma", category="trend", description="Hull moving average of close.", minimums={"period": 2})
def _hma(b: BarData, out: Outputs, period: int = 20) -> None:
    with b.scratch(2) as work:
        hull(b.close, period, out[0], work)


@indicator(
    "macd",
    category="trend",
    outputs=("macd", "macd_signal", "macd_hist"),
    description=(
        "MACD line (fast EMA seeded where the slow one starts), signal (EMA of the line) and "
        "histogram; all three start where the signal does (TA-Lib MACD)."
    ),
)
def _macd(b: BarData, out: Outputs, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
    ta.macd(b.close, fast, slow, signal, out[0], out[1], out[2])
