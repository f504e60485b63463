"""Trend strength and direction: ADX family, Aroon, Ichimoku, SAR, TRIX, vortex, mass index, CCI."""

from __future__ import annotations

import numpy as np

from pipelines.features import _kernels as k
from pipelines.features import _ta_kernels as ta
from pipelines.features._kernels import FloatArray, IntArray
from pipelines.features._shared import ema, highest, lowest, safe_div, shift, true_range, typical_price
from pipelines.features.inputs import BarData
from pipelines.features.registry import indicator

__all__ = ["dmi_lines", "midprice"]


def dmi_lines(b: BarData, period: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(+DI, -DI, DX, ADX), computed once per period."""
    return b.memo(("dmi", period), lambda: ta.dmi(b.high, b.low, b.close, period))


@indicator(
    "adx",
    category="trend",
    description="Average directional index, Wilder smoothing with TA-Lib's seeding (first value at 2n-1).",
    minimums={"period": 2},
)
def _adx(b: BarData, period: int = 14) -> tuple[FloatArray]:
    return (dmi_lines(b, period)[3],)


@indicator(
    "dmi",
    category="trend",
    outputs=("plus_di", "minus_di"),
    description="Plus and minus directional indicators, Wilder-smoothed DM over TR (TA-Lib PLUS_DI/MINUS_DI).",
    minimums={"period": 2},
)
def _dmi(b: BarData, period: int = 14) -> tuple[FloatArray, ...]:
    plus_di, minus_di, _, _ = dmi_lines(b, period)
    return plus_di, minus_di


@indicator(
    "dx",
    category="trend",
    description="Directional movement index 100*|+DI - -DI|/(+DI + -DI) (TA-Lib DX).",
    minimums={"period": 2},
)
def _dx(b: BarData, period: int = 14) -> tuple[FloatArray]:
    return (dmi_lines(b, period)[2],)


@indicator(
    "adxr",
    category="trend",
    description="ADX rating: mean of today's ADX and the ADX n-1 bars ago (TA-Lib ADXR).",
    minimums={"period": 2},
)
def _adxr(b: BarData, period: int = 14) -> tuple[FloatArray]:
    adx = dmi_lines(b, period)[3]
    return ((adx + shift(adx, period - 1)) / 2.0,)


def _aroon_indices(b: BarData, period: int) -> tuple[IntArray, IntArray]:
    """Where the (period+1)-bar highest high and lowest low occur (latest on ties)."""
    return b.memo(
        ("aroon", period),
        lambda: (
            k.rolling_argextreme(b.high, period + 1, is_max=True),
            k.rolling_argextreme(b.low, period + 1, is_max=False),
        ),
    )


@indicator(
    "aroon",
    category="trend",
    outputs=("aroon_up", "aroon_down"),
    description="Aroon up/down: 100*(n - bars since the n+1-bar high/low)/n (TA-Lib AROON).",
)
def _aroon(b: BarData, period: int = 25) -> tuple[FloatArray, ...]:
    factor = 100.0 / period
    index = np.arange(len(b), dtype=np.float64)
    hi_idx, lo_idx = _aroon_indices(b, period)
    up = factor * (period - (index - hi_idx))
    down = factor * (period - (index - lo_idx))
    up[hi_idx < 0] = np.nan
    down[lo_idx < 0] = np.nan
    return up, down


@indicator(
    "aroonosc",
    category="trend",
    description="Aroon oscillator: Aroon up - Aroon down (TA-Lib AROONOSC).",
)
def _aroonosc(b: BarData, period: int = 25) -> tuple[FloatArray]:
    hi_idx, lo_idx = _aroon_indices(b, period)
    out = (100.0 / period) * (hi_idx - lo_idx).astype(np.float64)
    out[hi_idx < 0] = np.nan
    return (out,)


def midprice(b: BarData, period: int) -> FloatArray:
    """(highest high + lowest low) / 2 over ``period`` bars (TA-Lib MIDPRICE)."""

    def make() -> FloatArray:
        out = highest(b, period) + lowest(b, period)
        out /= 2.0
        return out

    return b.memo(("midprice", period), make)


@indicator(
    "ichimoku",
    category="trend",
    outputs=("ichimoku_tenkan", "ichimoku_kijun", "ichimoku_senkou_a", "ichimoku_senkou_b"),
    description=(
        "Ichimoku conversion/base lines and the two cloud spans. The spans are the values computed "
        "kijun bars earlier (where the chart plots them), so they use past bars only; the chikou span "
        "is left out because it is the future close."
    ),
)
def _ichimoku(b: BarData, tenkan: int = 9, kijun: int = 26, senkou: int = 52) -> tuple[FloatArray, ...]:
    conv = midprice(b, tenkan)
    base = midprice(b, kijun)
    span_a = shift((conv + base) / 2.0, kijun)
    span_b = shift(midprice(b, senkou), kijun)
    return conv, base, span_a, span_b


@indicator(
    "psar",
    category="trend",
    description="Parabolic stop and reverse (TA-Lib SAR): acceleration step and maximum.",
)
def _psar(b: BarData, accel: float = 0.02, maximum: float = 0.2) -> tuple[FloatArray]:
    return (ta.sar(b.high, b.low, accel, maximum),)


@indicator(
    "trix",
    category="trend",
    description="1-bar rate of change (%) of a triple EMA of close (TA-Lib TRIX).",
)
def _trix(b: BarData, period: int = 15) -> tuple[FloatArray]:
    e3 = ema(ema(ema(b.close, period), period), period)
    prev = shift(e3, 1)
    out = safe_div(e3, prev)
    out -= 1.0
    out *= 100.0
    out[prev == 0.0] = 0.0
    return (out,)


@indicator(
    "vortex",
    category="trend",
    outputs=("vortex_plus", "vortex_minus"),
    description="Vortex indicator: n-bar sums of |high - prior low| and |low - prior high| over the true range.",
)
def _vortex(b: BarData, period: int = 14) -> tuple[FloatArray, ...]:
    vm_plus = np.full(len(b), np.nan)
    vm_minus = np.full(len(b), np.nan)
    np.abs(b.high[1:] - b.low[:-1], out=vm_plus[1:])
    np.abs(b.low[1:] - b.high[:-1], out=vm_minus[1:])
    tr_sum = k.rolling_sum(true_range(b), period)
    return (
        safe_div(k.rolling_sum(vm_plus, period), tr_sum),
        safe_div(k.rolling_sum(vm_minus, period), tr_sum),
    )


@indicator(
    "mass_index",
    category="trend",
    description="Mass index: slow-bar sum of EMA(high-low)/EMA(EMA(high-low)) with the fast period.",
)
def _mass_index(b: BarData, fast: int = 9, slow: int = 25) -> tuple[FloatArray]:
    e1 = ema(b.high - b.low, fast)
    e2 = ema(e1, fast)
    return (k.rolling_sum(safe_div(e1, e2), slow),)


@indicator(
    "linreg_slope",
    category="trend",
    description="Least-squares slope of close over the last n bars, per bar (TA-Lib LINEARREG_SLOPE).",
    minimums={"period": 2},
)
def _linreg_slope(b: BarData, period: int = 14) -> tuple[FloatArray]:
    return (ta.linreg_slope(b.close, period),)


@indicator(
    "cci",
    category="trend",
    description="Commodity channel index of the typical price (TA-Lib CCI).",
    minimums={"period": 2},
)
def _cci(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (ta.cci(typical_price(b), period),)
