"""Momentum oscillators: RSI, stochastics, Williams %R, ROC, MFI, TSI, ULTOSC, PPO/APO, CMO, BOP, AO."""

from __future__ import annotations

import numpy as np

from pipelines.features import _kernels as k
from pipelines.features import _ta_kernels as ta
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import (
    close_ema,
    ema,
    highest,
    lowest,
    median_price,
    nan_like,
    safe_div,
    shift,
    sma,
    true_range,
    typical_price,
)
from pipelines.features.inputs import BarData
from pipelines.features.registry import indicator

__all__ = ["rsi", "stoch_k"]


def rsi(b: BarData, period: int) -> FloatArray:
    return b.memo(("rsi", period), lambda: ta.rsi_cmo(b.close, period, cmo=False))


def stoch_k(close: FloatArray, hh: FloatArray, ll: FloatArray) -> FloatArray:
    """Fast %K as TA-Lib computes it: (close - low) / ((high - low) / 100), 0 on a flat window."""
    out = safe_div(close - ll, (hh - ll) / 100.0)
    return out


@indicator(
    "rsi",
    category="momentum",
    description="Relative strength index, Wilder smoothing seeded with the first n-bar means (TA-Lib RSI).",
)
def _rsi(b: BarData, period: int = 14) -> tuple[FloatArray]:
    return (rsi(b, period),)


@indicator(
    "cmo",
    category="momentum",
    description="Chande momentum oscillator, 100*(gain - loss)/(gain + loss), Wilder-smoothed (TA-Lib CMO).",
)
def _cmo(b: BarData, period: int = 14) -> tuple[FloatArray]:
    return (ta.rsi_cmo(b.close, period, cmo=True),)


@indicator(
    "stoch",
    category="momentum",
    outputs=("stoch_k", "stoch_d"),
    description=(
        "Slow stochastic (TA-Lib STOCH, SMA smoothing): %K over k bars smoothed by a d-bar SMA, "
        "%D its d-bar SMA; both start where %D does."
    ),
)
def _stoch(b: BarData, k_period: int = 14, d_period: int = 3) -> tuple[FloatArray, ...]:
    fast = stoch_k(b.close, highest(b, k_period), lowest(b, k_period))
    slow_k = sma(fast, d_period)
    slow_d = sma(slow_k, d_period)
    slow_k[: k.first_valid(slow_d)] = np.nan
    return slow_k, slow_d


@indicator(
    "stochrsi",
    category="momentum",
    outputs=("stochrsi_k", "stochrsi_d"),
    description="Fast stochastic of the RSI: %K over k bars, %D its d-bar SMA (TA-Lib STOCHRSI).",
)
def _stochrsi(b: BarData, period: int = 14, k_period: int = 14, d_period: int = 3) -> tuple[FloatArray, ...]:
    r = rsi(b, period)
    hh = k.rolling_extreme(r, k_period, is_max=True)
    ll = k.rolling_extreme(r, k_period, is_max=False)
    fast_k = stoch_k(r, hh, ll)
    fast_d = sma(fast_k, d_period)
    fast_k[: k.first_valid(fast_d)] = np.nan
    return fast_k, fast_d


@indicator(
    "willr",
    category="momentum",
    description="Williams %R: -100*(highest high - close)/(highest high - lowest low) (TA-Lib WILLR).",
)
def _willr(b: BarData, period: int = 14) -> tuple[FloatArray]:
    hh = highest(b, period)
    return (safe_div(hh - b.close, (hh - lowest(b, period)) * -0.01),)


@indicator("roc", category="momentum", description="Rate of change in percent over n bars (TA-Lib ROC).")
def _roc(b: BarData, period: int = 10) -> tuple[FloatArray]:
    prev = shift(b.close, period)
    out = safe_div(b.close, prev)
    out -= 1.0
    out *= 100.0
    out[prev == 0.0] = 0.0
    return (out,)


@indicator("mom", category="momentum", description="Momentum: close - close n bars ago (TA-Lib MOM).")
def _mom(b: BarData, period: int = 10) -> tuple[FloatArray]:
    return (b.close - shift(b.close, period),)


@indicator(
    "mfi",
    category="momentum",
    description="Money flow index: volume-weighted RSI of the typical price (TA-Lib MFI).",
)
def _mfi(b: BarData, period: int = 14) -> tuple[FloatArray]:
    tp = typical_price(b)
    flow = tp * b.volume
    pos = nan_like(tp)
    neg = nan_like(tp)
    up = tp[1:] > tp[:-1]
    down = tp[1:] < tp[:-1]
    pos[1:] = np.where(up, flow[1:], 0.0)
    neg[1:] = np.where(down, flow[1:], 0.0)
    pos_sum = k.rolling_sum(pos, period)
    total = pos_sum + k.rolling_sum(neg, period)
    out = safe_div(100.0 * pos_sum, total)
    out[total < 1.0] = 0.0  # TA-Lib reports 0 when less than one unit of money flowed
    out[np.isnan(total)] = np.nan
    return (out,)


@indicator(
    "tsi",
    category="momentum",
    description="True strength index: 100 * double-smoothed change / double-smoothed |change| (seeded EMAs).",
)
def _tsi(b: BarData, long: int = 25, short: int = 13) -> tuple[FloatArray]:
    change = nan_like(b.close)
    np.subtract(b.close[1:], b.close[:-1], out=change[1:])
    num = ema(ema(change, long), short)
    den = ema(ema(np.abs(change), long), short)
    return (100.0 * safe_div(num, den),)


@indicator(
    "ultosc",
    category="momentum",
    description="Ultimate oscillator: 4:2:1 weighted buying pressure / true range over 3 windows (TA-Lib).",
)
def _ultosc(b: BarData, short: int = 7, medium: int = 14, long: int = 28) -> tuple[FloatArray]:
    tr = true_range(b)
    bp = nan_like(tr)
    np.subtract(b.close[1:], np.minimum(b.low[1:], b.close[:-1]), out=bp[1:])
    out = np.zeros(len(b))
    for weight, period in zip((4.0, 2.0, 1.0), sorted((short, medium, long)), strict=True):
        out += weight * safe_div(k.rolling_sum(bp, period), k.rolling_sum(tr, period))
    out *= 100.0 / 7.0
    return (out,)


def _price_oscillator(b: BarData, fast: int, slow: int) -> tuple[FloatArray, FloatArray]:
    """Fast and slow EMAs of close, each seeded on its own (unlike MACD's aligned fast EMA)."""
    fast, slow = min(fast, slow), max(fast, slow)
    return close_ema(b, fast), close_ema(b, slow)


@indicator(
    "ppo",
    category="momentum",
    description="Percentage price oscillator 100*(EMA fast - EMA slow)/EMA slow (TA-Lib PPO, matype EMA).",
)
def _ppo(b: BarData, fast: int = 12, slow: int = 26) -> tuple[FloatArray]:
    f, s = _price_oscillator(b, fast, slow)
    return (100.0 * safe_div(f - s, s),)


@indicator(
    "apo",
    category="momentum",
    description="Absolute price oscillator EMA fast - EMA slow (TA-Lib APO, matype EMA).",
)
def _apo(b: BarData, fast: int = 12, slow: int = 26) -> tuple[FloatArray]:
    f, s = _price_oscillator(b, fast, slow)
    return (f - s,)


@indicator(
    "bop",
    category="momentum",
    description="Balance of power: (close - open)/(high - low), 0 on a zero-range bar (TA-Lib BOP).",
)
def _bop(b: BarData) -> tuple[FloatArray]:
    rng = b.high - b.low
    out = safe_div(b.close - b.open, rng)
    out[rng < 1e-14] = 0.0
    return (out,)


@indicator(
    "ao",
    category="momentum",
    description="Awesome oscillator: SMA(fast) - SMA(slow) of the median price (high+low)/2.",
)
def _ao(b: BarData, fast: int = 5, slow: int = 34) -> tuple[FloatArray]:
    mp = median_price(b)
    return (sma(mp, fast) - sma(mp, slow),)
