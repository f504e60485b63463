"""Returns, lagged returns, z-score and distance of close from its moving averages."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipelines.features import _fused_kernels as fk
from pipelines.features._kernels import FloatArray
from pipelines.features._shared import close_mean_std, close_sma, safe_div, shift
from pipelines.features.indicators import Outputs, ParamValue, indicator
from pipelines.features.inputs import BarData

__all__ = ["simple_return"]


def simple_return(b: BarData, period: int, out: FloatArray | None = None) -> FloatArray:
    """close[t] / close[t-period] - 1 (NaN for the first ``period`` bars)."""

    def make(o: FloatArray | None) -> FloatArray:
        return fk.ratio_change(b.close, period, 0.0, 1.0, np.empty(len(b)) if o is None else o)

    return b.memo_into(("ret", period), make, out)


@indicator("ret", category="returns", description="Simple return over n bars: close/close[n bars ago] - 1.")
def _ret(b: BarData, out: Outputs, period: int = 1) -> None:
    simple_return(b, period, out[0])


@indicator("log_ret", category="returns", description="Log return over n bars: ln(close/close[n bars ago]).")
def _log_ret(b: BarData, out: Outputs, period: int = 1) -> None:
    res = out[0]
    p = min(period, len(b))
    res[:p] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(b.close[p:], b.close[: len(b) - p], out=res[p:])
        np.log(ratio, out=ratio)


def _lag_names(params: Mapping[str, ParamValue]) -> list[str]:
    return [f"ret_{params['period']}_lag_{lag}" for lag in range(1, int(params["lags"]) + 1)]


@indicator(
    "ret_lag",
    category="returns",
    outputs=("ret_{period}_lag_{lag}",),
    namer=_lag_names,
    description="The n-bar simple return 1..lags bars earlier (columns ret_{period}_lag_{lag}).",
)
def _ret_lag(b: BarData, out: Outputs, period: int = 1, lags: int = 5) -> None:
    ret = simple_return(b, period)
    for lag, res in enumerate(out, start=1):
        shift(ret, lag, res)


@indicator(
    "zscore",
    category="returns",
    description="(close - n-bar SMA) / n-bar population std of close; 0 on a flat window.",
)
def _zscore(b: BarData, out: Outputs, period: int = 20) -> None:
    mean, std = close_mean_std(b, period)
    res = np.subtract(b.close, mean, out=out[0])
    safe_div(res, std, out=res)


@indicator("dist_sma", category="returns", description="Distance of close from its n-bar SMA: close/SMA - 1.")
def _dist_sma(b: BarData, out: Outputs, period: int = 20) -> None:
    res = safe_div(b.close, close_sma(b, period), out=out[0])
    res -= 1.0
