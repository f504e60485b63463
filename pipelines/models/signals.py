"""From predicted returns to what the API serves: value, direction, signal, confidence, recommendation.

All rules are vectorized over arrays of predictions. ``predicted_return`` is a **log** return,
``log(close[t+h] / close[t])``, the training target of every kind (see ``training_matrix.py``):

* ``value`` = ``last_close * exp(predicted_return)``: the predicted price h bars ahead.
* ``direction`` = "flat" when ``|predicted_return| < flat_threshold``, else "up" (> 0) or "down".
  A prediction exactly at the threshold is not flat; a prediction of exactly 0 always is.
* ``signal`` = ``tanh(predicted_return / scale)`` in (-1, 1), where ``scale`` is the typical size of
  the target (std of the training targets, the model's ``target_scale``): a move of one typical
  size gives 0.76, a fifth of one about 0.2.
* ``confidence`` = ``erf(|pred| / (error_scale * sqrt(2)))`` = ``2 * Phi(|pred| / error_scale) - 1``,
  in [0, 1): if the realized return is the prediction plus Gaussian noise of std ``error_scale``
  (the model's validation RMSE, its ``error_scale``; the target std ``scale`` when unknown), this is
  the probability that the realized return has the predicted sign, rescaled from [0.5, 1) to
  [0, 1). It grows with the predicted move and shrinks as the model's errors grow.
* ``recommendation`` = "BUY" when ``signal > 0.2``, "SELL" when ``signal < -0.2``, else "HOLD"
  (exactly +-0.2 is HOLD).

A NaN prediction (an LSTM row without enough history) gives NaN value, signal and confidence,
direction "flat" and recommendation "HOLD": no information, no action.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import erf  # type: ignore[import-untyped]

from pipelines.errors import InvalidRequestError

__all__ = ["BUY_THRESHOLD", "SELL_THRESHOLD", "derive_signals"]

BUY_THRESHOLD = 0.2
SELL_THRESHOLD = -0.2


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise InvalidRequestError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def derive_signals(
    predicted_return: npt.ArrayLike,
    last_close: npt.ArrayLike,
    scale: float,
    flat_threshold: float = 0.0,
    error_scale: float | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Every served field for each prediction (see the module docstring for the rules).

    ``last_close`` is one price or one per prediction. Returns arrays keyed ``predicted_return``,
    ``value``, ``direction``, ``signal``, ``confidence``, ``recommendation``.
    """
    pred = np.asarray(predicted_return, dtype=np.float64)
    close = np.asarray(last_close, dtype=np.float64)
    if pred.ndim != 1:
        raise InvalidRequestError(f"predicted_return must be one-dimensional, got shape {pred.shape}")
    if close.ndim > 1 or (close.ndim == 1 and close.shape != pred.shape):
        raise InvalidRequestError(f"last_close must be a scalar or shape {pred.shape}, got {close.shape}")
    s = _positive("scale", scale)
    err = s if error_scale is None else _positive("error_scale", error_scale)
    threshold = float(flat_threshold)
    if not math.isfinite(threshold) or threshold < 0.0:
        raise InvalidRequestError(f"flat_threshold must be a finite number >= 0, got {flat_threshold!r}")

    value = np.broadcast_to(close * np.exp(pred), pred.shape).copy()
    magnitude = np.abs(pred)
    flat = ~(magnitude >= threshold) | (pred == 0.0)  # NaN compares False, so NaN is flat
    direction = np.where(flat, "flat", np.where(pred > 0.0, "up", "down"))
    signal = np.tanh(pred / s)
    confidence = erf(magnitude / (err * math.sqrt(2.0)))
    recommendation = np.where(
        signal > BUY_THRESHOLD, "BUY", np.where(signal < SELL_THRESHOLD, "SELL", "HOLD")
    )
    return {
        "predicted_return": pred,
        "value": value,
        "direction": direction,
        "signal": signal,
        "confidence": confidence,
        "recommendation": recommendation,
    }
