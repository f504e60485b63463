"""Volume-based indicators: OBV, VWAP, accumulation/distribution, CMF, force index, EOM, VPT, rvol."""

from __future__ import annotations

import numpy as np

from pipelines.features import _kernels as k
from pipelines.features import _ta_kernels as ta
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import ema, median_price, nan_like, safe_div, sma, typical_price
from pipelines.features.inputs import BarData
from pipelines.features.registry import indicator

__all__ = ["NS_PER_DAY", "ad_line"]

NS_PER_DAY = 86_400_000_000_000


def _money_flow_multiplier(b: BarData) -> FloatArray:
    """((close - low) - (high - close)) / (high - low); 0 on a zero-range bar."""

    def make() -> FloatArray:
        rng = b.high - b.low
        out = safe_div((b.close - b.low) - (b.high - b.close), rng)
        out[rng <= 0.0] = 0.0
        return out

    return b.memo("mf_multiplier", make)


def ad_line(b: BarData) -> FloatArray:
    """Chaikin accumulation/distribution line (TA-Lib AD), from the first bar."""

    def make() -> FloatArray:
        out = _money_flow_multiplier(b) * b.volume
        return np.cumsum(out, out=out)

    return b.memo("ad_line", make)


@indicator(
    "obv",
    category="volume",
    description="On-balance volume starting at the first bar's volume (TA-Lib OBV).",
)
def _obv(b: BarData) -> tuple[FloatArray]:
    out = np.empty(len(b))
    if len(b):
        out[0] = b.volume[0]
        np.multiply(np.sign(b.close[1:] - b.close[:-1]), b.volume[1:], out=out[1:])
        np.cumsum(out, out=out)
    return (out,)


@indicator(
    "vwap",
    category="volume",
    description=(
        "Session VWAP anchored at each UTC midnight: cumulative typical price * volume / cumulative "
        "volume since the day's first bar. For daily or longer bars every bar is its own session, so "
        "it equals the bar's typical price; a session with no volume yet also gives the typical price."
    ),
)
def _vwap(b: BarData) -> tuple[FloatArray]:
    day = np.floor_divide(b.ts_ns, NS_PER_DAY)
    return (ta.vwap(typical_price(b), b.volume, day),)


@indicator("ad", category="volume", description="Chaikin accumulation/distribution line (TA-Lib AD).")
def _ad(b: BarData) -> tuple[FloatArray]:
    return (ad_line(b),)


@indicator(
    "adosc",
    category="volume",
    description="Chaikin A/D oscillator: EMA(fast) - EMA(slow) of the A/D line, seeded with its first value.",
)
def _adosc(b: BarData, fast: int = 3, slow: int = 10) -> tuple[FloatArray]:
    ad = ad_line(b)
    out = k.ema(ad, 1, 2.0 / (fast + 1)) - k.ema(ad, 1, 2.0 / (slow + 1))
    out[: max(fast, slow) - 1] = np.nan
    return (out,)


@indicator(
    "cmf",
    category="volume",
    description="Chaikin money flow: n-bar sum of money-flow volume / n-bar sum of volume (0 if none).",
)
def _cmf(b: BarData, period: int = 20) -> tuple[FloatArray]:
    flow = _money_flow_multiplier(b) * b.volume
    return (safe_div(k.rolling_sum(flow, period), k.rolling_sum(b.volume, period)),)


@indicator(
    "force_index",
    category="volume",
    description="Force index: EMA(n) (SMA-seeded) of close change * volume.",
)
def _force_index(b: BarData, period: int = 13) -> tuple[FloatArray]:
    raw = nan_like(b.close)
    np.multiply(b.close[1:] - b.close[:-1], b.volume[1:], out=raw[1:])
    return (ema(raw, period),)


@indicator(
    "eom",
    category="volume",
    description=(
        "Ease of movement: n-bar SMA of (change of (high+low)/2) * (high - low) / volume * 1e8 "
        "(the `ta` package's scaling); 0 on a zero-volume bar."
    ),
)
def _eom(b: BarData, period: int = 14) -> tuple[FloatArray]:
    mid = median_price(b)
    raw = nan_like(mid)
    raw[1:] = safe_div((mid[1:] - mid[:-1]) * (b.high[1:] - b.low[1:]), b.volume[1:])
    raw *= 1e8
    return (sma(raw, period),)


@indicator(
    "vpt",
    category="volume",
    description="Volume-price trend: running sum of volume * 1-bar return, from the second bar.",
)
def _vpt(b: BarData) -> tuple[FloatArray]:
    out = nan_like(b.close)
    if len(b) > 1:
        step = safe_div(b.close[1:], b.close[:-1])
        step -= 1.0
        step *= b.volume[1:]
        out[1:] = np.cumsum(step)
    return (out,)


@indicator(
    "rvol",
    category="volume",
    description="Relative volume: volume / its n-bar SMA (0 when the average is 0).",
)
def _rvol(b: BarData, period: int = 20) -> tuple[FloatArray]:
    return (safe_div(b.volume, sma(b.volume, period)),)
