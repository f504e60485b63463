"""Volume-based indicators: OBV, VWAP, accumulation/distribution, CMF, force index, EOM, VPT, rvol."""

from __future__ import annotations

import numpy as np

from pipelines.features import _bar_kernels as bk
from pipelines.features import _fused_kernels as fk
from pipelines.features import _kernels as k
from pipelines.features import _rolling_kernels as rw
from pipelines.features import _window_kernels as wk
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import diff, ema, median_price, safe_div, sma, typical_price
from pipelines.features.indicators import Outputs, indicator
from pipelines.features.inputs import BarData

__all__ = ["NS_PER_DAY", "ad_line"]

NS_PER_DAY = 86_400_000_000_000


def _money_flow_volume(b: BarData, out: FloatArray) -> FloatArray:
    """((close - low) - (high - close)) / (high - low) * volume; 0 on a zero-range bar (one pass)."""
    return fk.money_flow_volume(b.high, b.low, b.close, b.volume, out)


def ad_line(b: BarData, out: FloatArray | None = None) -> FloatArray:
    """Chaikin accumulation/distribution line (TA-Lib AD), from the first bar."""

    def make(o: FloatArray | None) -> FloatArray:
        return bk.ad_line(b.high, b.low, b.close, b.volume, np.empty(len(b)) if o is None else o)

    return b.memo_into("ad_line", make, out)


@indicator(
    "obv",
    category="volume",
    description="On-balance volume starting at the first bar's volume (TA-Lib OBV).",
)
def _obv(b: BarData, out: Outputs) -> None:
    bk.obv(b.close, b.volume, out[0])


@indicator(
    "vwap",
    category="volume",
    description=(
        "Session VWAP anchored at each UTC midnight: cumulative typical price * volume / cumulative "
        "volume since the day's first bar. For daily or longer bars every bar is its own session, so "
        "it equals the bar's typical price; a session with no volume yet also gives the typical price."
    ),
)
def _vwap(b: BarData, out: Outputs) -> None:
    day = np.floor_divide(b.ts_ns, NS_PER_DAY)
    wk.vwap(typical_price(b), b.volume, day, out[0])


@indicator("ad", category="volume", description="Chaikin accumulation/distribution line (TA-Lib AD).")
def _ad(b: BarData, out: Outputs) -> None:
    ad_line(b, out[0])


@indicator(
    "adosc",
    category="volume",
    description="Chaikin A/D oscillator: EMA(fast) - EMA(slow) of the A/D line, seeded with its first value.",
)
def _adosc(b: BarData, out: Outputs, fast: int = 3, slow: int = 10) -> None:
    bk.adosc(b.high, b.low, b.close, b.volume, fast, slow, out[0])


@indicator(
    "cmf",
    category="volume",
    description="Chaikin money flow: n-bar sum of money-flow volume / n-bar sum of volume (0 if none).",
)
def _cmf(b: BarData, out: Outputs, period: int = 20) -> None:
    with b.scratch(1) as (work,):
        flow = _money_flow_volume(b, work)
        res = rw.rolling_sum(flow, period, 1.0, out[0])
        safe_div(res, rw.rolling_sum(b.volume, period, 1.0, work), out=res)


@indicator(
    "force_index",
    category="volume",
    description="Force index: EMA(n) (SMA-seeded) of close change * volume.",
)
def _force_index(b: BarData, out: Outputs, period: int = 13) -> None:
    with b.scratch(1) as (raw,):
        diff(b.close, raw)
        raw *= b.volume
        ema(raw, period, out[0])


@indicator(
    "eom",
    category="volume",
    description=(
        "Ease of movement: n-bar SMA of (change of (high+low)/2) * (high - low) / volume * 1e8 "
        "(the `ta` package's scaling); 0 on a zero-volume bar."
    ),
)
def _eom(b: BarData, out: Outputs, period: int = 14) -> None:
    with b.scratch(2) as (raw, rng):
        diff(median_price(b), raw)
        raw *= np.subtract(b.high, b.low, out=rng)
        raw *= 1e8
        safe_div(raw, b.volume, out=raw)
        sma(raw, period, out[0])


@indicator(
    "vpt",
    category="volume",
    description="Volume-price trend: running sum of volume * 1-bar return, from the second bar.",
)
def _vpt(b: BarData, out: Outputs) -> None:
    res = out[0]
    if len(b):
        res[0] = np.nan
        step = safe_div(b.close[1:], b.close[:-1], out=res[1:])
        step -= 1.0
        step *= b.volume[1:]
        k.cumsum(res, out=res)  # from bar 1: res[0] is NaN


@indicator(
    "rvol",
    category="volume",
    description="Relative volume: volume / its n-bar SMA (0 when the average is 0).",
)
def _rvol(b: BarData, out: Outputs, period: int = 20) -> None:
    with b.scratch(1) as (avg,):
        safe_div(b.volume, sma(b.volume, period, avg), out=out[0])
