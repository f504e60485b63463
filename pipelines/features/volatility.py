"""Volatility: ATR family, Bollinger/Keltner/Donchian channels, range-based estimators, ulcer index.

The Parkinson, Garman-Klass and Rogers-Satchell estimators are per-bar standard deviations of log
returns (square root of the n-bar mean of their per-bar variance terms), not annualised.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from pipelines.features import _bar_kernels as bk
from pipelines.features import _extreme_kernels as ek
from pipelines.features import _fused_kernels as fk
from pipelines.features import _rolling_kernels as rw
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import (
    atr,
    close_ema,
    close_mean_std,
    diff,
    highest,
    log_prices,
    lowest,
    safe_div,
    sma,
)
from pipelines.features.indicators import Outputs, indicator
from pipelines.features.inputs import BarData

__all__ = ["bollinger"]


@indicator(
    "atr",
    category="volatility",
    description="Average true range, Wilder smoothing seeded with the first n-bar mean (TA-Lib ATR).",
)
def _atr(b: BarData, out: Outputs, period: int = 14) -> None:
    atr(b, period, out[0])


@indicator("natr", category="volatility", description="ATR as a percentage of close (TA-Lib NATR).")
def _natr(b: BarData, out: Outputs, period: int = 14) -> None:
    cached = b.cached(("atr", period))
    if cached is None:
        bk.atr(b.high, b.low, b.close, period, out[0], percent=True)
    else:
        fk.scaled_div(cast(FloatArray, cached), 100.0, b.close, out[0])


@indicator(
    "trange",
    category="volatility",
    description="True range: max(high, prior close) - min(low, prior close) (TA-Lib TRANGE).",
)
def _trange(b: BarData, out: Outputs) -> None:
    cached = b.cached("true_range")
    if cached is None:  # written straight into the column, and memoized there
        b.store("true_range", fk.true_range(b.high, b.low, b.close, out[0]))
    else:
        np.copyto(out[0], cast(FloatArray, cached))


def bollinger(b: BarData, period: int, nbdev: float, out: Outputs) -> None:
    """[upper, middle, lower] into ``out``: SMA of close +/- nbdev population std devs (BBANDS).

    Reuses the rolling (mean, std) when another indicator has computed it; otherwise one kernel
    pass writes the three bands and nothing else.
    """
    upper, middle, lower = out
    if b.cached(("close_mean_std", period, 0)) is None:
        rw.rolling_mean_std(b.close, period, 0, middle, np.empty(0), nbdev=nbdev, upper=upper, lower=lower)
        return
    mean, std = close_mean_std(b, period)
    np.multiply(std, nbdev, out=upper)
    np.subtract(mean, upper, out=lower)
    upper += mean
    np.copyto(middle, mean)


@indicator(
    "bb",
    category="volatility",
    outputs=("bb_upper", "bb_middle", "bb_lower"),
    description="Bollinger bands: SMA of close +/- nbdev population std devs (TA-Lib BBANDS).",
)
def _bb(b: BarData, out: Outputs, period: int = 20, nbdev: float = 2.0) -> None:
    bollinger(b, period, nbdev, out)


@indicator(
    "bb_width",
    category="volatility",
    description="Bollinger band width relative to the middle band: (upper - lower)/middle.",
)
def _bb_width(b: BarData, out: Outputs, period: int = 20, nbdev: float = 2.0) -> None:
    mean, std = close_mean_std(b, period)
    res = np.multiply(std, 2.0 * nbdev, out=out[0])
    safe_div(res, mean, out=res)


@indicator(
    "bb_pctb",
    category="volatility",
    description="Bollinger %b: (close - lower)/(upper - lower); 0.5 when the bands collapse.",
)
def _bb_pctb(b: BarData, out: Outputs, period: int = 20, nbdev: float = 2.0) -> None:
    mean, std = close_mean_std(b, period)
    res = np.subtract(b.close, mean, out=out[0])
    with b.scratch(1) as (width,):
        np.multiply(std, nbdev, out=width)
        res += width  # close - lower
        width *= 2.0
        safe_div(res, width, zero=0.5, out=res)


@indicator(
    "kc",
    category="volatility",
    outputs=("kc_upper", "kc_middle", "kc_lower"),
    description="Keltner channel: EMA(n) of close +/- mult * ATR(n).",
)
def _kc(b: BarData, out: Outputs, period: int = 20, mult: float = 2.0) -> None:
    upper, middle, lower = out
    close_ema(b, period, middle)
    np.multiply(atr(b, period), mult, out=upper)
    np.subtract(middle, upper, out=lower)
    upper += middle


@indicator(
    "donchian",
    category="volatility",
    outputs=("dc_upper", "dc_lower", "dc_middle"),
    description="Donchian channel: n-bar highest high, lowest low and their midpoint.",
)
def _donchian(b: BarData, out: Outputs, period: int = 20) -> None:
    upper, lower, middle = out
    high_key, low_key = ("max", "high", period), ("min", "low", period)
    if b.cached(high_key) is None and b.cached(low_key) is None:  # one pass for the three lines
        ek.donchian(b.high, b.low, period, upper, lower, middle)
        b.store(high_key, upper)  # the keys of ``highest`` / ``lowest``, for later indicators
        b.store(low_key, lower)
        return
    highest(b, period, out=upper)
    lowest(b, period, out=lower)
    np.add(upper, lower, out=middle)
    middle *= 0.5


def _root_mean(x: FloatArray, period: int, out: FloatArray) -> None:
    """sqrt of the n-bar mean of ``x`` into ``out``."""
    res = sma(x, period, out)
    np.maximum(res, 0.0, out=res)  # a running sum of non-negative terms may round just below 0
    np.sqrt(res, out=res)


@indicator(
    "realized_vol",
    category="volatility",
    description="Sample standard deviation (ddof=1) of 1-bar log returns over n bars; not annualised.",
    minimums={"period": 2},
)
def _realized_vol(b: BarData, out: Outputs, period: int = 20) -> None:
    with b.scratch(2) as (ret, mean):
        rw.rolling_mean_std(diff(log_prices(b)[3], ret), period, 1, mean, out[0])


@indicator(
    "parkinson",
    category="volatility",
    description="Parkinson range volatility: sqrt(mean(ln(high/low)^2) / (4 ln 2)) over n bars.",
)
def _parkinson(b: BarData, out: Outputs, period: int = 20) -> None:
    _, log_h, log_l, _ = log_prices(b)
    with b.scratch(1) as (hl,):
        np.subtract(log_h, log_l, out=hl)
        hl *= hl
        hl *= 1.0 / (4.0 * math.log(2.0))
        _root_mean(hl, period, out[0])


@indicator(
    "garman_klass",
    category="volatility",
    description="Garman-Klass volatility: sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2)) over n bars.",
)
def _garman_klass(b: BarData, out: Outputs, period: int = 20) -> None:
    log_o, log_h, log_l, log_c = log_prices(b)
    with b.scratch(2) as (hl, co):
        np.subtract(log_h, log_l, out=hl)
        hl *= hl
        hl *= 0.5
        np.subtract(log_c, log_o, out=co)
        co *= co
        co *= 2.0 * math.log(2.0) - 1.0
        hl -= co
        _root_mean(hl, period, out[0])


@indicator(
    "rogers_satchell",
    category="volatility",
    description="Rogers-Satchell volatility: sqrt(mean(ln(H/C) ln(H/O) + ln(L/C) ln(L/O))) over n bars.",
)
def _rogers_satchell(b: BarData, out: Outputs, period: int = 20) -> None:
    log_o, log_h, log_l, log_c = log_prices(b)
    with b.scratch(3) as (term, work, factor):
        np.subtract(log_h, log_c, out=term)
        term *= np.subtract(log_h, log_o, out=work)
        np.subtract(log_l, log_c, out=work)
        work *= np.subtract(log_l, log_o, out=factor)
        term += work
        _root_mean(term, period, out[0])


@indicator(
    "ulcer",
    category="volatility",
    description="Ulcer index: root mean square over n bars of the % drawdown from the n-bar highest close.",
)
def _ulcer(b: BarData, out: Outputs, period: int = 14) -> None:
    with b.scratch(2) as (peak, dd):
        rw.rolling_extreme(b.close, period, is_max=True, out=peak)
        np.subtract(b.close, peak, out=dd)
        safe_div(dd, peak, out=dd)
        dd *= dd
        dd *= 1e4  # (100 * drawdown)^2
        _root_mean(dd, period, out[0])


@indicator(
    "stddev",
    category="volatility",
    description="Population standard deviation of close over n bars (TA-Lib STDDEV, nbdev 1).",
)
def _stddev(b: BarData, out: Outputs, period: int = 20) -> None:
    key = ("close_mean_std", period, 0)
    if b.cached(key) is None:  # the std goes straight into the column, memoized there
        b.store(key, rw.rolling_mean_std(b.close, period, 0, np.empty(len(b)), out[0]))
    else:
        np.copyto(out[0], close_mean_std(b, period)[1])
