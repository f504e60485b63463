"""Trend strength and direction: ADX family, Aroon, Ichimoku, SAR, TRIX, vortex, mass index, CCI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from pipelines.features import _extreme_kernels as ek
from pipelines.features import _fused_kernels as fk
from pipelines.features import _kernels as k
from pipelines.features import _ring_kernels as rk
from pipelines.features import _rolling_kernels as rw
from pipelines.features import _ta_kernels as ta
from pipelines.features import _window_kernels as wk
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import (
    ema,
    safe_div,
    shift,
    typical_price,
)
from pipelines.features.indicators import Outputs, indicator
from pipelines.features.inputs import BarData

__all__ = ["aroon_lines", "dmi_lines", "midprice"]


def dmi_lines(
    b: BarData, period: int, into: dict[int, FloatArray] | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(+DI, -DI, DX, ADX), computed once per period; line ``i`` lands in ``into[i]`` (an output
    column): directly by the first computation, which is memoized there, else as a copy."""
    into = into or {}
    cached = b.cached(("dmi", period))
    if cached is None:
        lines = ta.dmi(b.high, b.low, b.close, period, [into.get(i) for i in range(4)])
        b.store(("dmi", period), lines)
        return lines
    lines = cast(tuple[FloatArray, FloatArray, FloatArray, FloatArray], cached)
    for i, target in into.items():
        np.copyto(target, lines[i])
    return lines


@indicator(
    "adx",
    category="trend",
    description="Average directional index, Wilder smoothing with TA-Lib's seeding (first value at 2n-1).",
    minimums={"period": 2},
)
def _adx(b: BarData, out: Outputs, period: int = 14) -> None:
    dmi_lines(b, period, {3: out[0]})


@indicator(
    "dmi",
    category="trend",
    outputs=("plus_di", "minus_di"),
    description="Plus/minus directional indicators, Wilder-smoothed DM over TR (TA-Lib PLUS_DI/MINUS_DI).",
    minimums={"period": 2},
)
def _dmi(b: BarData, out: Outputs, period: int = 14) -> None:
    dmi_lines(b, period, {0: out[0], 1: out[1]})


@indicator(
    "dx",
    category="trend",
    description="Directional movement index 100*|+DI - -DI|/(+DI + -DI) (TA-Lib DX).",
    minimums={"period": 2},
)
def _dx(b: BarData, out: Outputs, period: int = 14) -> None:
    dmi_lines(b, period, {2: out[0]})


@indicator(
    "adxr",
    category="trend",
    description="ADX rating: mean of today's ADX and the ADX n-1 bars ago (TA-Lib ADXR).",
    minimums={"period": 2},
)
def _adxr(b: BarData, out: Outputs, period: int = 14) -> None:
    fk.lagged_mean(dmi_lines(b, period)[3], period - 1, out[0])


def aroon_lines(b: BarData, period: int, out: Outputs | None = None) -> tuple[FloatArray, ...]:
    """(Aroon up, Aroon down), computed once per period (into ``out`` the first time)."""

    def make(o: Sequence[FloatArray] | None) -> tuple[FloatArray, ...]:
        up, down = (np.empty(len(b)), np.empty(len(b))) if o is None else o
        ek.aroon(b.high, b.low, period, up, down)
        return up, down

    return b.memo_into_many(("aroon", period), make, out)


@indicator(
    "aroon",
    category="trend",
    outputs=("aroon_up", "aroon_down"),
    description="Aroon up/down: 100*(n - bars since the n+1-bar high/low)/n (TA-Lib AROON).",
)
def _aroon(b: BarData, out: Outputs, period: int = 25) -> None:
    aroon_lines(b, period, out)


@indicator(
    "aroonosc",
    category="trend",
    description="Aroon oscillator: Aroon up - Aroon down (TA-Lib AROONOSC).",
)
def _aroonosc(b: BarData, out: Outputs, period: int = 25) -> None:
    if b.cached(("aroon", period)) is not None:
        up, down = aroon_lines(b, period)
        np.subtract(up, down, out=out[0])
        return
    ek.aroon_osc(b.high, b.low, period, out[0])


def midprice(b: BarData, period: int, out: FloatArray) -> FloatArray:
    """(highest high + lowest low) / 2 over ``period`` bars (TA-Lib MIDPRICE), into ``out``."""
    with b.scratch(1) as (low,):
        rw.rolling_extreme(b.high, period, is_max=True, out=out)
        out += rw.rolling_extreme(b.low, period, is_max=False, out=low)
    out *= 0.5
    return out


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
def _ichimoku(b: BarData, out: Outputs, tenkan: int = 9, kijun: int = 26, senkou: int = 52) -> None:
    conv = midprice(b, tenkan, out[0])
    base = midprice(b, kijun, out[1])
    with b.scratch(1) as (work,):
        np.add(conv, base, out=work)
        work *= 0.5
        shift(work, kijun, out[2])
        shift(midprice(b, senkou, work), kijun, out[3])


@indicator(
    "psar",
    category="trend",
    description="Parabolic stop and reverse (TA-Lib SAR): acceleration step and maximum.",
)
def _psar(b: BarData, out: Outputs, accel: float = 0.02, maximum: float = 0.2) -> None:
    ta.sar(b.high, b.low, accel, maximum, out[0])


@indicator(
    "trix",
    category="trend",
    description="1-bar rate of change (%) of a triple EMA of close (TA-Lib TRIX).",
)
def _trix(b: BarData, out: Outputs, period: int = 15) -> None:
    k.ema_chain(b.close, period, k.TRIX, out[0])  # TA-Lib: a ratio of 1 where the base is 0


@indicator(
    "vortex",
    category="trend",
    outputs=("vortex_plus", "vortex_minus"),
    description="Vortex: n-bar sums of |high - prior low| and |low - prior high| over the n-bar true range.",
)
def _vortex(b: BarData, out: Outputs, period: int = 14) -> None:
    rk.vortex(b.high, b.low, b.close, period, out[0], out[1])


@indicator(
    "mass_index",
    category="trend",
    description="Mass index: slow-bar sum of EMA(high-low)/EMA(EMA(high-low)) with the fast period.",
)
def _mass_index(b: BarData, out: Outputs, fast: int = 9, slow: int = 25) -> None:
    with b.scratch(3) as (rng, e1, e2):
        np.subtract(b.high, b.low, out=rng)
        ema(rng, fast, e1)
        ema(e1, fast, e2)
        rw.rolling_sum(safe_div(e1, e2, out=e2), slow, 1.0, out[0])


@indicator(
    "linreg_slope",
    category="trend",
    description="Least-squares slope of close over the last n bars, per bar (TA-Lib LINEARREG_SLOPE).",
    minimums={"period": 2},
)
def _linreg_slope(b: BarData, out: Outputs, period: int = 14) -> None:
    wk.linreg_slope(b.close, period, out[0])


@indicator(
    "cci",
    category="trend",
    description="Commodity channel index of the typical price (TA-Lib CCI).",
    minimums={"period": 2},
)
def _cci(b: BarData, out: Outputs, period: int = 20) -> None:
    wk.cci(typical_price(b), period, out[0])
