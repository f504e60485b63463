"""How much a Sharpe ratio can be trusted: its standard error under non-normal returns, the
probabilistic Sharpe ratio (PSR), the minimum track record length (MinTRL), the deflated Sharpe
ratio (DSR) and the walk-forward efficiency.

Sources: Mertens (2002) for the variance of the Sharpe ratio estimator under skewed, fat-tailed iid
returns; Bailey and López de Prado, "The Sharpe Ratio Efficient Frontier" (Journal of Risk, 2012) for
PSR and MinTRL; Bailey and López de Prado, "The Deflated Sharpe Ratio" (Journal of Portfolio
Management, 2014) for the expected maximum Sharpe ratio of N trials and the DSR.

Units: the formulas work on Sharpe ratios *per bar* (mean / std of bar returns, rf = 0) with
``kurtosis`` the plain (not excess) kurtosis, 3 for normal returns. :func:`sharpe_significance`
takes and reports annualized Sharpe ratios (times sqrt(bars per year), as ``metrics.py``) and an
annualized variance of the trials' Sharpe ratios, and converts them. The per-bar formulas live in
:mod:`pipelines.sharpe` (below the ML core, so champion decisions use them too) and are re-exported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.sharpe import (
    CONFIDENCE,
    EULER_GAMMA,
    ReturnMoments,
    deflated_sharpe,
    expected_max_sharpe,
    min_track_record,
    probabilistic_sharpe,
    return_moments,
    sharpe_std_error,
)

__all__ = [
    "CONFIDENCE",
    "EULER_GAMMA",
    "ReturnMoments",
    "bar_returns",
    "deflated_sharpe",
    "expected_max_sharpe",
    "min_track_record",
    "probabilistic_sharpe",
    "return_moments",
    "sharpe_significance",
    "sharpe_std_error",
    "significance_verdict",
    "walk_forward_efficiency",
    "walk_forward_means",
]

FloatArray = npt.NDArray[np.float64]


def bar_returns(equity: FloatArray) -> FloatArray:
    """Bar-to-bar simple returns of an equity curve (as ``metrics.py`` computes its Sharpe ratio)."""
    curve = np.asarray(equity, dtype=np.float64)
    if curve.size < 2:
        return np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):  # a curve at 0: inf/NaN, left out later
        out: FloatArray = curve[1:] / curve[:-1] - 1.0
    return out


def walk_forward_means(
    in_sample: Sequence[float | None], out_of_sample: Sequence[float | None]
) -> tuple[float | None, float | None]:
    """Mean in-sample and mean out-of-sample performance over the folds that have both (finite);
    without such a fold, None and the mean of the out-of-sample values alone."""
    pairs = [
        (float(i), float(o))
        for i, o in zip(in_sample, out_of_sample, strict=True)
        if i is not None and o is not None and math.isfinite(i) and math.isfinite(o)
    ]
    if not pairs:
        alone = [float(o) for o in out_of_sample if o is not None and math.isfinite(o)]
        return None, (sum(alone) / len(alone) if alone else None)
    return sum(i for i, _ in pairs) / len(pairs), sum(o for _, o in pairs) / len(pairs)


def walk_forward_efficiency(
    in_sample: Sequence[float | None], out_of_sample: Sequence[float | None]
) -> float | None:
    """Mean out-of-sample over mean in-sample performance of the folds that have both
    (:func:`walk_forward_means`; 1: the model kept what it learned; near 0 or below: it learned
    noise). None without an in-sample mean > 0."""
    mean_in, mean_out = walk_forward_means(in_sample, out_of_sample)
    if mean_in is None or mean_out is None or mean_in <= 0.0:
        return None
    return mean_out / mean_in


def _years(bars: float | None, per_year: float) -> float | None:
    return None if bars is None else bars / per_year


def significance_verdict(block: dict[str, Any]) -> str:
    """The one-line verdict of a ``significance`` block: which statistic judged the Sharpe ratio (the
    deflated one with several trials, else the PSR against 0) and whether it reached the confidence."""
    if block.get("sharpe_ratio") is None:
        return "no Sharpe ratio to judge: fewer than 3 returns or no variance"
    which = "deflated Sharpe ratio" if block.get("deflated_sharpe") is not None else "Sharpe ratio above 0"
    word = "significant" if block["significant"] else "not significant"
    return f"{which}: {word} at {block['confidence']:.0%}"


def sharpe_significance(
    returns: FloatArray,
    *,
    per_year: float,
    benchmark_sharpe: float | None = None,
    trials: int = 1,
    trials_sharpe_variance: float | None = None,
    confidence: float = CONFIDENCE,
) -> dict[str, Any]:
    """Long because it names every field of the ``significance`` block at once.

    The ``significance`` block of a result with bar ``returns``: annualized Sharpe ratio and its
    standard error, PSR against 0 and against ``benchmark_sharpe`` (annualized), MinTRL against 0 (in
    bars and years), and, with more than one trial, the DSR given the trials' annualized Sharpe
    variance, and the one-line ``verdict``. JSON-safe; every value None when the returns cannot give a
    Sharpe ratio."""
    moments = return_moments(returns)
    root = math.sqrt(per_year)
    variance = trials_sharpe_variance if trials > 1 else None
    out: dict[str, Any] = {
        "observations": int(np.isfinite(np.asarray(returns)).sum()),
        "sharpe_ratio": None,
        "sharpe_std_error": None,
        "skewness": None,
        "kurtosis": None,
        "psr_vs_zero": None,
        "benchmark_sharpe": benchmark_sharpe,
        "psr_vs_benchmark": None,
        "min_track_record_bars": None,
        "min_track_record_years": None,
        "trials": trials,
        "trials_sharpe_variance": variance,
        "expected_max_sharpe": None,
        "deflated_sharpe": None,
        "confidence": confidence,
        "significant": False,
    }
    if moments is None:
        return out | {"verdict": significance_verdict(out)}
    sr, n, skew, kurt = moments.sharpe, moments.n, moments.skewness, moments.kurtosis
    mintrl = min_track_record(sr, 0.0, skew, kurt, confidence)
    out |= {
        "sharpe_ratio": sr * root,
        "sharpe_std_error": sharpe_std_error(sr, n, skew, kurt) * root,
        "skewness": skew,
        "kurtosis": kurt,
        "psr_vs_zero": probabilistic_sharpe(sr, 0.0, n, skew, kurt),
        "min_track_record_bars": mintrl,
        "min_track_record_years": _years(mintrl, per_year),
    }
    if benchmark_sharpe is not None and math.isfinite(benchmark_sharpe):
        out["psr_vs_benchmark"] = probabilistic_sharpe(sr, benchmark_sharpe / root, n, skew, kurt)
    judged = out["psr_vs_zero"]
    if variance is not None:
        expected = expected_max_sharpe(trials, variance / per_year)
        out["expected_max_sharpe"] = expected * root
        out["deflated_sharpe"] = judged = probabilistic_sharpe(sr, expected, n, skew, kurt)
    out["significant"] = bool(judged >= confidence)
    out["verdict"] = significance_verdict(out)
    return out
