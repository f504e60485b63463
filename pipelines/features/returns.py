"""Returns, lagged returns and distances of close from its moving averages."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipelines.features._kernels import FloatArray
from pipelines.features._shared import close_mean_std, close_sma, nan_like, safe_div, shift
from pipelines.features.inputs import BarData
from pipelines.features.registry import ParamValue, indicator

__all__ = ["simple_return"]


def simple_return(b: BarData, period: int) -> FloatArray:
    """close[t] / close[t-period] - 1."""

    def make() -> FloatArray:
        out = nan_like(b.close)
        if period < len(b):
            ratio = safe_div(b.close[period:], b.close[:-period])
            ratio -= 1.0
            out[period:] = ratio
        return out

    return b.memo(("ret", period), make)


@indicator("ret", category="returns", description="Simple return over n bars: close/close[n bars ago] - 1.")
def _ret(b: BarData, period: int = 1) -> tuple[FloatArray]:
    return (simple_return(b, period),)


@indicator("log_ret", category="returns", description="Log return over n bars: ln(close/close[n bars ago]).")
def _log_ret(b: BarData, period: int = 1) -> tuple[FloatArray]:
    out = nan_like(b.close)
    if period < len(b):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[period:] = np.log(b.close[period:] / b.close[:-period])
    return (out,)


def _lag_names(params: Mapping[str, ParamValue]) -> list[str]:
    return [f"ret_{params['period']}_lag_{lag}" for lag in range(1, int(params["lags"]) + 1)]


@indicator(
    "ret_lag",
    category="returns",
    outputs=("ret_{period}_lag_{lag}",),
    namer=_lag_names,
    description="The n-bar simple return 1..lags bars earlier (columns ret_{period}_lag_{lag}).",
)
def _ret_lag(b: BarData, period: int = 1, lags: int = 5) -> tuple[FloatArray, ...]:
    ret = simple_return(b, period)
    return tuple(shift(ret, lag) for lag in range(1, lags + 1))


@indicator(
    "zscore",
    category="returns",
    description="(close - n-bar SMA) / n-bar population std of close; 0 on a flat window.",
)
def _zscore(b: BarData, period: int = 20) -> tuple[FloatArray]:
    mean, std = close_mean_std(b, period)
    return (safe_div(b.close - mean, std),)


@indicator("dist_sma", category="returns", description="Distance of close from its n-bar SMA: close/SMA - 1.")
def _dist_sma(b: BarData, period: int = 20) -> tuple[FloatArray]:
    out = safe_div(b.close, close_sma(b, period))
    out -= 1.0
    return (out,)
