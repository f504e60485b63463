"""Volatility: ATR family, Bollinger/Keltner/Donchian channels, range-based estimators, ulcer index.

The Parkinson, Garman-Klass and Rogers-Satchell estimators are per-bar standard deviations of log
returns (square root of the n-bar mean of their per-bar variance terms), not annualised.
"""

from __future__ import annotations

import math

import numpy as np

from pipelines.features import _kernels as k
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import (
    atr,
    close_ema,
    close_mean_std,
    highest,
    log_prices,
    lowest,
    nan_like,
    safe_div,
    sma,
    true_range,
)
from pipelines.features.inputs import BarData
from pipelines.features.registry import indicator

__all__ = ["bollinger"]


@indicator(
    "atr",
    category="volatility",
    description="Average true range, Wilder smoothing seeded with the first n-bar mean (TA-Lib ATR).",
)
def _atr(b: BarData, period: int = 14) -> tuple[FloatArray]:
    return (atr(b, period),)


@indicator("natr", category="volatility", description="ATR as a percentage of close (TA-Lib NATR).")
def _natr(b: BarData, period: int = 14) -> tuple[FloatArray]:
    return (100.0 * safe_div(atr(b, period), b.close),)


@indicator(
    "trange",
    category="volatility",
    description="True range: max(high, prior close) - min(low, prior close) (TA-Lib TRANGE).",
)
def _trange(b: BarData) -> tuple[FloatArray]:
    return (true_range(b),)


def bollinger(b: BarData, period: int, nbdev: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upper, middle, lower): SMA of close +/- nbdev population standard deviations (TA-Lib BBANDS)."""
    middle, std = close_mean_std(b, period)
    width = nbdev * std
    return middle + width, middle, middle - width


@indicator(
    "bb",
    category="volatility",
    outputs=("bb_upper", "bb_middle", "bb_lower"),
    description="Bollinger bands: SMA of close +/- nbdev population std devs (TA-Lib BBANDS).",
)
def _bb(b: BarData, period: int = 20, nbdev: float = 2.0) -> tuple[FloatArray, ...]:
    return bollinger(b, period, nbdev)


@indicator(
    "bb_width",
    category="volatility",
    description="Bollinger band width relative to the middle band: (upper - lower)/middle.",
)
def _bb_width(b: BarData, period: int = 20, nbdev: float = 2.0) -> tuple[FloatArray]:
    upper, middle, lower = bollinger(b, period, nbdev)
    return (safe_div(upper - lower, middle),)


@indicator(
    "bb_pctb",
    category="volatility",
    description="Bollinger %b: (close - lower)/(upper - lower); 0.5 when the bands collapse.",
)
def _bb_pctb(b: BarData, period: int = 20, nbdev: float = 2.0) -> tuple[FloatArray]:
    upper, _, lower = bollinger(b, period, nbdev)
    return (safe_div(b.close - lower, upper - lower, zero=0.5),)


@indicator(
    "kc",
    category="volatility",
    outputs=("kc_upper", "kc_middle", "kc_lower"),
    description="Keltner channel: EMA(n) of close +/- mult * ATR(n).",
)
def _kc(b: BarData, period: int = 20, mult: float = 2.0) -> tuple[FloatArray, ...]:
    middle = close_ema(b, period)
    width = mult * atr(b, period)
    return middle + width, middle, middle - width


@indicator(
    "donchian",
    category="volatility",
    outputs=("dc_upper", "dc_lower", "dc_middle"),
    description="Donchian channel: n-bar highest high, lowest low and their midpoint.",
)
def _donchian(b: BarData, period: int = 20) -> tuple[FloatArray, ...]:
    upper = highest(b, period)
    lower = lowest(b, period)
    return upper, lower, (upper + lower) / 2.0


def _root_mean(x: FloatArray, period: int) -> FloatArray:
    out = sma(x, period)
    np.maximum(out, 0.0, out=out)  # a running sum of non-negative terms may round just below 0
    return np.sqrt(out, out=out)


@indicator(
    "realized_vol",
    category="volatility",
    description="Sample standard deviation (ddof=1) of 1-bar log returns over n bars; not annualised.",
    minimums={"period": 2},
)
def _realized_vol(b: BarData, period: int = 20) -> tuple[FloatArray]:
    _, _, _, log_c = log_prices(b)
    ret = nan_like(log_c)
    np.subtract(log_c[1:], log_c[:-1], out=ret[1:])
    return (k.rolling_mean_std(ret, period, 1)[1],)


@indicator(
    "parkinson",
    category="volatility",
    description="Parkinson range volatility: sqrt(mean(ln(high/low)^2) / (4 ln 2)) over n bars.",
)
def _parkinson(b: BarData, period: int = 20) -> tuple[FloatArray]:
    _, log_h, log_l, _ = log_prices(b)
    hl = log_h - log_l
    hl *= hl
    hl /= 4.0 * math.log(2.0)
    return (_root_mean(hl, period),)


@indicator(
    "garman_klass",
    category="volatility",
    description="Garman-Klass volatility: sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2)) over n bars.",
)
def _garman_klass(b: BarData, period: int = 20) -> tuple[FloatArray]:
    log_o, log_h, log_l, log_c = log_prices(b)
    hl = log_h - log_l
    co = log_c - log_o
    term = 0.5 * hl * hl - (2.0 * math.log(2.0) - 1.0) * co * co
    return (_root_mean(term, period),)


@indicator(
    "rogers_satchell",
    category="volatility",
    description="Rogers-Satchell volatility: sqrt(mean(ln(H/C) ln(H/O) + ln(L/C) ln(L/O))) over n bars.",
)
def _rogers_satchell(b: BarData, period: int = 20) -> tuple[FloatArray]:
    log_o, log_h, log_l, log_c = log_prices(b)
    term = (log_h - log_c) * (log_h - log_o) + (log_l - log_c) * (log_l - log_o)
    return (_root_mean(term, period),)


@indicator(
    "ulcer",
    category="volatility",
    description="Ulcer index: root mean square over n bars of the % drawdown from the n-bar highest close.",
)
def _ulcer(b: BarData, period: int = 14) -> tuple[FloatArray]:
    peak = highest(b, period, "close")
    dd = 100.0 * safe_div(b.close - peak, peak)
    dd *= dd
    return (_root_mean(dd, period),)


@indicator(
    "stddev",
    category="volatility",
    description="Population standard deviation of close over n bars (TA-Lib STDDEV, nbdev 1).",
)
def _stddev(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (close_mean_std(b, period)[1],)
