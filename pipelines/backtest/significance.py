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
annualized variance of the trials' Sharpe ratios, and converts them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.errors import InvalidRequestError

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
    "walk_forward_efficiency",
]

FloatArray = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329
CONFIDENCE = 0.95  # a Sharpe ratio is called significant when PSR or DSR reaches it
_NORMAL = NormalDist()


@dataclass(frozen=True)
class ReturnMoments:
    """``sharpe`` per bar (mean / sample std), sample ``skewness``, plain ``kurtosis`` (3 = normal)
    of ``n`` bar returns."""

    n: int
    sharpe: float
    skewness: float
    kurtosis: float


def bar_returns(equity: FloatArray) -> FloatArray:
    """Bar-to-bar simple returns of an equity curve (as ``metrics.py`` computes its Sharpe ratio)."""
    curve = np.asarray(equity, dtype=np.float64)
    if curve.size < 2:
        return np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):  # a curve at 0: inf/NaN, left out later
        out: FloatArray = curve[1:] / curve[:-1] - 1.0
    return out


def return_moments(returns: FloatArray) -> ReturnMoments | None:
    """The moments the significance formulas need; None with fewer than 3 returns or no variance."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 3:
        return None
    mean = float(r.mean())
    dev = r - mean
    m2 = float(np.mean(dev * dev))
    std = float(r.std(ddof=1))
    if m2 <= 0.0 or std <= 0.0 or not math.isfinite(std):
        return None
    skew = float(np.mean(dev**3)) / m2**1.5
    kurt = float(np.mean(dev**4)) / m2**2
    return ReturnMoments(int(r.size), mean / std, skew, kurt)


def _variance_factor(sharpe: float, skewness: float, kurtosis: float) -> float:
    """1 - skew * SR + (kurt - 1) / 4 * SR^2: (n - 1) times the variance of the SR estimator
    (>= 0 for any sample, since kurt >= 1 + skew^2)."""
    return max(1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe, 1e-12)


def sharpe_std_error(sharpe: float, n: int, skewness: float = 0.0, kurtosis: float = 3.0) -> float:
    """Standard error of a per-bar Sharpe ratio estimated on ``n`` iid returns (Mertens 2002); with
    normal returns it is Lo's (2002) sqrt((1 + SR^2 / 2) / (n - 1))."""
    if n < 2:
        raise InvalidRequestError(f"a Sharpe ratio's standard error needs at least 2 returns, got {n}")
    return math.sqrt(_variance_factor(sharpe, skewness, kurtosis) / (n - 1))


def probabilistic_sharpe(
    sharpe: float, reference: float, n: int, skewness: float = 0.0, kurtosis: float = 3.0
) -> float:
    """PSR: the probability that the true per-bar Sharpe ratio exceeds ``reference``, given the
    estimate ``sharpe`` from ``n`` returns with these moments."""
    z = (sharpe - reference) / sharpe_std_error(sharpe, n, skewness, kurtosis)
    return _NORMAL.cdf(z)


def min_track_record(
    sharpe: float,
    reference: float,
    skewness: float = 0.0,
    kurtosis: float = 3.0,
    confidence: float = CONFIDENCE,
) -> float | None:
    """MinTRL: the returns needed for PSR(``reference``) to reach ``confidence`` at this Sharpe ratio
    and these moments; None when ``sharpe`` does not exceed ``reference`` (no length suffices)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidRequestError(f"confidence must be in (0, 1), got {confidence!r}")
    if sharpe <= reference:
        return None
    z = _NORMAL.inv_cdf(confidence)
    return 1.0 + _variance_factor(sharpe, skewness, kurtosis) * (z / (sharpe - reference)) ** 2


def expected_max_sharpe(trials: int, variance: float) -> float:
    """The expected largest of ``trials`` Sharpe ratios whose true value is 0 and whose estimates vary
    with ``variance`` (same units as the result): sqrt(V) * ((1 - g) Z(1 - 1/N) + g Z(1 - 1/(N e))),
    g the Euler-Mascheroni constant. 0 for a single trial."""
    if trials < 1:
        raise InvalidRequestError(f"trials must be at least 1, got {trials}")
    if variance < 0.0 or not math.isfinite(variance):
        raise InvalidRequestError(f"the trials' Sharpe variance must be finite and >= 0, got {variance!r}")
    if trials == 1 or variance == 0.0:
        return 0.0
    first = _NORMAL.inv_cdf(1.0 - 1.0 / trials)
    second = _NORMAL.inv_cdf(1.0 - 1.0 / (trials * math.e))
    return math.sqrt(variance) * ((1.0 - EULER_GAMMA) * first + EULER_GAMMA * second)


def deflated_sharpe(
    sharpe: float, n: int, skewness: float, kurtosis: float, trials: int, variance: float
) -> float:
    """DSR: the PSR of the best of ``trials`` per-bar Sharpe ratios against the maximum expected by
    luck alone (:func:`expected_max_sharpe` with the trials' per-bar Sharpe ``variance``)."""
    return probabilistic_sharpe(sharpe, expected_max_sharpe(trials, variance), n, skewness, kurtosis)


def walk_forward_efficiency(
    in_sample: Sequence[float | None], out_of_sample: Sequence[float | None]
) -> float | None:
    """Mean out-of-sample over mean in-sample performance of the folds (1: the model kept what it
    learned; near 0 or below: it learned noise). None without an in-sample mean > 0."""
    pairs = [
        (float(i), float(o))
        for i, o in zip(in_sample, out_of_sample, strict=True)
        if i is not None and o is not None and math.isfinite(i) and math.isfinite(o)
    ]
    if not pairs:
        return None
    mean_in = sum(i for i, _ in pairs) / len(pairs)
    if mean_in <= 0.0:
        return None
    return sum(o for _, o in pairs) / len(pairs) / mean_in


def _years(bars: float | None, per_year: float) -> float | None:
    return None if bars is None else bars / per_year


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
    variance. JSON-safe; every value None when the returns cannot give a Sharpe ratio."""
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
        return out
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
    return out
