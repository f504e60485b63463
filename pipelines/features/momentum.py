"""Momentum oscillators: RSI, stochastics, Williams %R, ROC, MFI, TSI, ULTOSC, PPO/APO, CMO, BOP, AO."""

from __future__ import annotations

from typing import cast

import numpy as np

from pipelines.features import _fused_kernels as fk
from pipelines.features import _kernels as k
from pipelines.features import _ring_kernels as rk
from pipelines.features import _rolling_kernels as rw
from pipelines.features import _ta_kernels as ta
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import (
    close_ema,
    diff,
    ema,
    highest,
    lowest,
    median_price,
    safe_div,
    sma,
)
from pipelines.features.indicators import Outputs, indicator
from pipelines.features.inputs import BarData

__all__ = ["rsi", "stoch_k"]


def rsi(b: BarData, period: int, out: FloatArray | None = None) -> FloatArray:
    return b.memo_into(("rsi", period), lambda o: ta.rsi_cmo(b.close, period, cmo=False, out=o), out)


def stoch_k(
    close: FloatArray, hh: FloatArray, ll: FloatArray, out: FloatArray, work: FloatArray
) -> FloatArray:
    """Fast %K as TA-Lib computes it: (close - low) / ((high - low) / 100), 0 on a flat window."""
    del work  # one fused pass needs no work array
    return fk.range_ratio(close, ll, hh, ll, 0.01, out)


@indicator(
    "rsi",
    category="momentum",
    description="Relative strength index, Wilder smoothing seeded with the first n-bar means (TA-Lib RSI).",
)
def _rsi(b: BarData, out: Outputs, period: int = 14) -> None:
    rsi(b, period, out[0])


@indicator(
    "cmo",
    category="momentum",
    description="Chande momentum oscillator, 100*(gain - loss)/(gain + loss), Wilder-smoothed (TA-Lib CMO).",
)
def _cmo(b: BarData, out: Outputs, period: int = 14) -> None:
    ta.rsi_cmo(b.close, period, cmo=True, out=out[0])


@indicator(
    "stoch",
    category="momentum",
    outputs=("stoch_k", "stoch_d"),
    description=(
        "Slow stochastic (TA-Lib STOCH, SMA smoothing): %K over k bars smoothed by a d-bar SMA, "
        "%D its d-bar SMA; both start where %D does."
    ),
)
def _stoch(b: BarData, out: Outputs, k_period: int = 14, d_period: int = 3) -> None:
    with b.scratch(2) as (fast, work):
        stoch_k(b.close, highest(b, k_period), lowest(b, k_period), fast, work)
        slow_k = sma(fast, d_period, out[0])
    slow_d = sma(slow_k, d_period, out[1])
    slow_k[: k.first_valid(slow_d)] = np.nan


@indicator(
    "stochrsi",
    category="momentum",
    outputs=("stochrsi_k", "stochrsi_d"),
    description="Fast stochastic of the RSI: %K over k bars, %D its d-bar SMA (TA-Lib STOCHRSI).",
)
def _stochrsi(b: BarData, out: Outputs, period: int = 14, k_period: int = 14, d_period: int = 3) -> None:
    r = rsi(b, period)
    with b.scratch(3) as (hh, ll, work):
        rw.rolling_extreme(r, k_period, is_max=True, out=hh)
        rw.rolling_extreme(r, k_period, is_max=False, out=ll)
        fast_k = stoch_k(r, hh, ll, out[0], work)
    fast_d = sma(fast_k, d_period, out[1])
    fast_k[: k.first_valid(fast_d)] = np.nan


@indicator(
    "willr",
    category="momentum",
    description="Williams %R: -100*(highest high - close)/(highest high - lowest low) (TA-Lib WILLR).",
)
def _willr(b: BarData, out: Outputs, period: int = 14) -> None:
    # Extremes another indicator computed are reused; else they go to the column and scratch.
    res = out[0]
    hh = cast(FloatArray | None, b.cached(("max", "high", period)))
    if hh is None:
        hh = rw.rolling_extreme(b.high, period, is_max=True, out=res)
    ll = cast(FloatArray | None, b.cached(("min", "low", period)))
    with b.scratch(1) as (work,):
        if ll is None:
            ll = rw.rolling_extreme(b.low, period, is_max=False, out=work)
        fk.range_ratio(hh, b.close, hh, ll, -0.01, res)  # element-wise, so res may hold hh


@indicator("roc", category="momentum", description="Rate of change in percent over n bars (TA-Lib ROC).")
def _roc(b: BarData, out: Outputs, period: int = 10) -> None:
    fk.ratio_change(b.close, period, 1.0, 100.0, out[0])  # 0 if the base is 0


@indicator("mom", category="momentum", description="Momentum: close - close n bars ago (TA-Lib MOM).")
def _mom(b: BarData, out: Outputs, period: int = 10) -> None:
    fk.difference(b.close, period, out[0])


@indicator(
    "mfi",
    category="momentum",
    description="Money flow index: volume-weighted RSI of the typical price (TA-Lib MFI).",
)
def _mfi(b: BarData, out: Outputs, period: int = 14) -> None:
    rk.mfi(b.high, b.low, b.close, b.volume, period, out[0])


@indicator(
    "tsi",
    category="momentum",
    description="True strength index: 100 * double-smoothed change / double-smoothed |change| (seeded EMAs).",
)
def _tsi(b: BarData, out: Outputs, long: int = 25, short: int = 13) -> None:
    with b.scratch(2) as (change, work):
        diff(b.close, change)
        num = ema(ema(change, long, work), short, out[0])
        np.abs(change, out=change)
        den = ema(ema(change, long, work), short, change)
        den *= 0.01
        safe_div(num, den, out=num)


@indicator(
    "ultosc",
    category="momentum",
    description="Ultimate oscillator: 4:2:1 weighted buying pressure / true range over 3 windows (TA-Lib).",
)
def _ultosc(b: BarData, out: Outputs, short: int = 7, medium: int = 14, long: int = 28) -> None:
    rk.ultosc(b.high, b.low, b.close, (short, medium, long), out[0])


def _price_oscillator(b: BarData, fast: int, slow: int) -> tuple[FloatArray, FloatArray]:
    """Fast and slow EMAs of close, each seeded on its own (unlike MACD's aligned fast EMA)."""
    fast, slow = min(fast, slow), max(fast, slow)
    return close_ema(b, fast), close_ema(b, slow)


@indicator(
    "ppo",
    category="momentum",
    description="Percentage price oscillator 100*(EMA fast - EMA slow)/EMA slow (TA-Lib PPO, matype EMA).",
)
def _ppo(b: BarData, out: Outputs, fast: int = 12, slow: int = 26) -> None:
    f, s = _price_oscillator(b, fast, slow)
    res = np.subtract(f, s, out=out[0])
    res *= 100.0
    safe_div(res, s, out=res)


@indicator(
    "apo",
    category="momentum",
    description="Absolute price oscillator EMA fast - EMA slow (TA-Lib APO, matype EMA).",
)
def _apo(b: BarData, out: Outputs, fast: int = 12, slow: int = 26) -> None:
    f, s = _price_oscillator(b, fast, slow)
    np.subtract(f, s, out=out[0])


@indicator(
    "bop",
    category="momentum",
    description="Balance of power: (close - open)/(high - low), 0 on a zero-range bar (TA-Lib BOP).",
)
def _bop(b: BarData, out: Outputs) -> None:
    fk.bop(b.open, b.high, b.low, b.close, out[0])


@indicator(
    "ao",
    category="momentum",
    description="Awesome oscillator: SMA(fast) - SMA(slow) of the median price (high+low)/2.",
)
def _ao(b: BarData, out: Outputs, fast: int = 5, slow: int = 34) -> None:
    mp = median_price(b)
    res = sma(mp, fast, out[0])
    with b.scratch(1) as (work,):
        res -= sma(mp, slow, work)
