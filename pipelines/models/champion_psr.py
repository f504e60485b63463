"""The probabilistic Sharpe ratio of a version's direction calls on the held-out window.

Each compared row's call is traded for the target's horizon: long when the prediction (of the next
bar's close, for a model of OHLC paths) is above 0, short below, flat at 0; its simple return is
sign(p) * (exp(y) - 1), y the realized log return. Rows whose horizons overlap would share returns,
so only every horizon-th row is kept. The PSR is against 0 (:mod:`pipelines.sharpe`): the probability
that the true Sharpe ratio of those calls is above 0, given their number, skewness and kurtosis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipelines.sharpe import probabilistic_sharpe, return_moments

__all__ = ["HeldOutPsr", "direction_returns", "held_out_psr"]

FloatArray = npt.NDArray[np.float64]
_NEXT_CLOSE = 3  # the close_t+1 column of an OHLC path's outputs (open, high, low, close per step)


@dataclass(frozen=True)
class HeldOutPsr:
    """``psr`` against 0, the per-bar ``sharpe`` and the sample ``skewness`` and plain ``kurtosis``
    of ``returns`` direction calls (NaN: undefined, fewer than 3 returns or no variance)."""

    psr: float = math.nan
    sharpe: float = math.nan
    returns: int = 0
    skewness: float = math.nan
    kurtosis: float = math.nan


def direction_returns(y: FloatArray, pred: FloatArray, horizon: int) -> FloatArray:
    """The non-overlapping simple returns of trading the sign of ``pred`` on realized log returns
    ``y`` (2-D: OHLC paths, whose next close is a one-bar call)."""
    if y.ndim == 2:
        y, pred, horizon = y[:, _NEXT_CLOSE], pred[:, _NEXT_CLOSE], 1
    step = max(int(horizon), 1)
    out: FloatArray = np.sign(pred[::step]) * np.expm1(y[::step])
    return out


def held_out_psr(y: FloatArray, pred: FloatArray, horizon: int) -> HeldOutPsr:
    returns = direction_returns(np.asarray(y, np.float64), np.asarray(pred, np.float64), horizon)
    moments = return_moments(returns)
    if moments is None:
        return HeldOutPsr(returns=int(returns.size))
    psr = probabilistic_sharpe(moments.sharpe, 0.0, moments.n, moments.skewness, moments.kurtosis)
    return HeldOutPsr(psr, moments.sharpe, moments.n, moments.skewness, moments.kurtosis)
