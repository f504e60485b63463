"""Indicator strategies. Indicators come from the features package (TA-Lib definitions), so a
strategy sees exactly the values the models train on. Targets are +1 long, -1 short, 0 flat; the
engine turns -1 into flat unless shorting is allowed. NaN indicators (warm-up) give 0.

Each also has a ``latest`` form, the live runner's step: the newest bar's target from the same
indicator kernels on the same arrays (no frame, no parameter resolution, no target array built),
equal to the last value of the vectorized strategy on those bars."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

from pipelines.backtest.strategies.lookup import ParamSpec, StrategyContext, register_strategy
from pipelines.errors import InvalidRequestError
from pipelines.features import BarData, get_indicator

__all__: list[str] = []

FloatArray = npt.NDArray[np.float64]


def _indicator(data: BarData, name: str, **params: Any) -> list[FloatArray]:
    return get_indicator(name).compute(data, params)


def _raw(data: BarData, name: str, outputs: int, **params: Any) -> list[FloatArray]:
    """The indicator's outputs with ``params`` already resolved (the runner validated them)."""
    out = [np.empty(len(data)) for _ in range(outputs)]
    get_indicator(name).func(data, out, **params)
    return out


def _sma_cross_latest(data: BarData, params: dict[str, Any]) -> float:
    fast, slow = int(params["fast"]), int(params["slow"])
    if fast >= slow:
        raise InvalidRequestError(f"sma_cross needs fast < slow, got fast={fast}, slow={slow}")
    if len(data) < slow:  # warm-up of the slow SMA
        return 0.0
    f, s = _raw(data, "sma", 1, period=fast)[0], _raw(data, "sma", 1, period=slow)[0]
    return 1.0 if f[-1] > s[-1] else -1.0


def _rsi_reversion_latest(data: BarData, params: dict[str, Any]) -> float:
    low, high = float(params["oversold"]), float(params["overbought"])
    if low >= high:
        raise InvalidRequestError("rsi_reversion needs oversold < overbought")
    rsi = _raw(data, "rsi", 1, period=int(params["period"]))[0]
    hits = np.flatnonzero((rsi < low) | (rsi > high))  # the latch holds the newest entry's side
    return 0.0 if hits.size == 0 else (1.0 if rsi[hits[-1]] < low else -1.0)


def _bollinger_breakout_latest(data: BarData, params: dict[str, Any]) -> float:
    upper, middle, lower = _raw(data, "bb", 3, period=int(params["period"]), nbdev=float(params["nbdev"]))
    return float(_band_state(np.ascontiguousarray(data.close), upper, middle, lower)[-1])


@register_strategy("buy_and_hold", description="Long from the first bar to the last (the benchmark).")
def buy_and_hold(bars: pd.DataFrame, params: dict[str, Any], context: StrategyContext | None) -> FloatArray:
    return np.ones(len(bars))


@register_strategy(
    "sma_cross",
    params=[
        ParamSpec("fast", int, 10, description="fast SMA period", minimum=1),
        ParamSpec("slow", int, 20, description="slow SMA period", minimum=2),
    ],
    description="Long while SMA(fast) > SMA(slow), otherwise short (flat unless shorting is allowed).",
    latest=_sma_cross_latest,
)
def sma_cross(
    bars: pd.DataFrame, params: dict[str, Any], context: StrategyContext | None, data: BarData | None = None
) -> FloatArray:
    fast, slow = params["fast"], params["slow"]
    if fast >= slow:
        raise InvalidRequestError(f"sma_cross needs fast < slow, got fast={fast}, slow={slow}")
    data = BarData.from_frame(bars) if data is None else data
    f = _indicator(data, "sma", period=fast)[0]
    s = _indicator(data, "sma", period=slow)[0]
    out: FloatArray = np.where(f > s, 1.0, -1.0)
    out[: min(slow - 1, out.size)] = 0.0  # warm-up of the slow SMA (NaN compares False)
    return out


def _latch(enter_long: npt.NDArray[np.bool_], enter_short: npt.NDArray[np.bool_]) -> FloatArray:
    """+1 from a long entry, -1 from a short entry, held until the other fires; 0 before either."""
    state = np.where(enter_long, 1.0, np.where(enter_short, -1.0, np.nan))
    idx = np.where(np.isnan(state), 0, np.arange(state.size))
    np.maximum.accumulate(idx, out=idx)
    out: FloatArray = state[idx]
    out[np.isnan(out)] = 0.0
    return out


@register_strategy(
    "rsi_reversion",
    params=[
        ParamSpec("period", int, 14, description="RSI period", minimum=2),
        ParamSpec("oversold", float, 30.0, description="enter long below this RSI", minimum=0, maximum=100),
        ParamSpec(
            "overbought", float, 70.0, description="exit long (enter short) above", minimum=0, maximum=100
        ),
    ],
    description=(
        "Mean reversion on Wilder's RSI: long when it falls below oversold, held until it rises above "
        "overbought, where it turns short (flat unless shorting is allowed) until oversold again."
    ),
    latest=_rsi_reversion_latest,
)
def rsi_reversion(
    bars: pd.DataFrame, params: dict[str, Any], context: StrategyContext | None, data: BarData | None = None
) -> FloatArray:
    if params["oversold"] >= params["overbought"]:
        raise InvalidRequestError("rsi_reversion needs oversold < overbought")
    data = BarData.from_frame(bars) if data is None else data
    rsi = _indicator(data, "rsi", period=params["period"])[0]
    return _latch(rsi < params["oversold"], rsi > params["overbought"])


def _band_state_impl(
    close: FloatArray, upper: FloatArray, middle: FloatArray, lower: FloatArray
) -> FloatArray:
    out = np.zeros(close.size)
    state = 0.0
    for i in range(close.size):
        c = close[i]
        if (state > 0.0 and c < middle[i]) or (state < 0.0 and c > middle[i]):
            state = 0.0
        if state == 0.0:
            if c > upper[i]:
                state = 1.0
            elif c < lower[i]:
                state = -1.0
        out[i] = state
    return out


_band_state = njit(cache=True, nogil=True)(_band_state_impl)


@register_strategy(
    "bollinger_breakout",
    params=[
        ParamSpec("period", int, 20, description="Bollinger period", minimum=2),
        ParamSpec("nbdev", float, 2.0, description="band width in standard deviations", minimum=0.1),
    ],
    description=(
        "Breakout: long when the close rises above the upper band, until it falls below the middle; "
        "short when it falls below the lower band, until it rises above the middle."
    ),
    latest=_bollinger_breakout_latest,
)
def bollinger_breakout(
    bars: pd.DataFrame, params: dict[str, Any], context: StrategyContext | None, data: BarData | None = None
) -> FloatArray:
    data = BarData.from_frame(bars) if data is None else data
    upper, middle, lower = _indicator(data, "bb", period=params["period"], nbdev=params["nbdev"])
    close = np.ascontiguousarray(data.close)  # the validated closes (what the bands are computed on)
    out: FloatArray = _band_state(close, upper, middle, lower)
    return out
