"""Regression and direction metrics of a model's predictions, NaN-safe, under the API's names.

``regression_metrics(y_true, y_pred)`` drops pairs where either side is NaN or infinite, then gives:

* ``r2``, ``mae``, ``rmse``;
* ``directional_accuracy``: share of rows whose predicted sign equals the realized sign, over rows
  with a non-zero realized return (a zero prediction counts as wrong);
* ``ic``: the information coefficient, Spearman's rank correlation of predictions and targets;
* ``accuracy``, ``precision``, ``recall``, ``f1`` of the "up" call (``y_pred > 0``) against
  ``y_true > 0``; precision/recall with nothing to divide by are 0, as scikit-learn's default;
* ``count``: pairs used.

For 2-D targets (multi_ohlc) each metric is the mean of the per-column metrics that are defined
(``count`` the total): R² as scikit-learn's "uniform_average", and direction and IC judged within
each column, so that the built-in signs of the high/low columns (above/below the current close)
cannot inflate them.

A metric that is undefined on the data (no pairs; R² or IC of a constant) is NaN, never an error.
``prefixed(m, "val_")`` renames them ``val_r2``, ``val_mae``, ... (the Trading bot API's names).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata  # type: ignore[import-untyped]

from pipelines.errors import InvalidRequestError

__all__ = ["METRIC_NAMES", "prefixed", "regression_metrics"]

METRIC_NAMES = (
    "r2",
    "mae",
    "rmse",
    "directional_accuracy",
    "ic",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "count",
)
NAN = float("nan")


def _r2(t: npt.NDArray[np.float64], p: npt.NDArray[np.float64]) -> float:
    if t.size == 0:
        return NAN
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    return NAN if ss_tot == 0.0 else 1.0 - float(np.sum((t - p) ** 2)) / ss_tot


def _pearson(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    if a.size < 2:
        return NAN
    da, db = a - a.mean(), b - b.mean()
    den = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    return NAN if den == 0.0 else float(np.dot(da, db)) / den


def _mean_defined(values: list[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return float(np.mean(defined)) if defined else NAN


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def regression_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """The metrics above for one set of predictions (see the module docstring)."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape or t.ndim not in (1, 2):
        raise InvalidRequestError(
            f"y_true and y_pred must have one 1-D or 2-D shape, got {t.shape} and {p.shape}"
        )
    if t.ndim == 1:
        return _metrics(t, p)
    columns = [_metrics(t[:, j], p[:, j]) for j in range(t.shape[1])]
    out = {name: _mean_defined([c[name] for c in columns]) for name in METRIC_NAMES}
    out["count"] = float(sum(c["count"] for c in columns))
    return out


def _metrics(t: npt.NDArray[np.float64], p: npt.NDArray[np.float64]) -> dict[str, float]:
    ok = np.isfinite(t) & np.isfinite(p)
    tv, pv = t[ok], p[ok]
    n = tv.size
    if n == 0:
        return {name: (0.0 if name == "count" else NAN) for name in METRIC_NAMES}
    err = pv - tv
    nonzero = tv != 0.0
    directional = float(np.mean(np.sign(pv[nonzero]) == np.sign(tv[nonzero]))) if nonzero.any() else NAN
    true_up, pred_up = tv > 0.0, pv > 0.0
    tp = float(np.sum(true_up & pred_up))
    precision = _ratio(tp, float(np.sum(pred_up)))
    recall = _ratio(tp, float(np.sum(true_up)))
    return {
        "r2": _r2(tv, pv),
        "mae": float(np.mean(np.abs(err))),
        "rmse": math.sqrt(float(np.mean(err**2))),
        "directional_accuracy": directional,
        "ic": _pearson(rankdata(tv), rankdata(pv)),
        "accuracy": float(np.mean(true_up == pred_up)),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2.0 * precision * recall, precision + recall),
        "count": float(n),
    }


def prefixed(metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
    """``{"r2": .1}`` with prefix ``"val_"`` -> ``{"val_r2": .1}``."""
    return {f"{prefix}{name}": value for name, value in metrics.items()}
