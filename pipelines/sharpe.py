"""The statistics of one Sharpe ratio: its standard error under non-normal returns (Mertens 2002),
the probabilistic Sharpe ratio (PSR) and minimum track record length (MinTRL) of Bailey and López de
Prado, "The Sharpe Ratio Efficient Frontier" (Journal of Risk, 2012), and the expected maximum Sharpe
ratio of N trials and the deflated Sharpe ratio (DSR) of their "The Deflated Sharpe Ratio" (Journal of
Portfolio Management, 2014).

Pure formulas on Sharpe ratios *per bar* (mean / std of bar returns with ddof = 1, rf = 0; not
annualized: divide an annual Sharpe ratio by sqrt(bars per year) and an annual Sharpe variance by bars
per year first), ``skewness`` and ``kurtosis`` the biased sample moments, ``kurtosis`` the plain
(Pearson, not excess) kurtosis, 3 for normal returns. Checked against the papers' worked numbers
(PSR 0.982 / 0.913, MinTRL 0.7152 / 1.1593 years, SR0 0.1132 and DSR 0.9004). Below the ML core, so
that backtests report them and champion decisions gate on them alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from pipelines.errors import InvalidRequestError

__all__ = [
    "CONFIDENCE",
    "EULER_GAMMA",
    "ReturnMoments",
    "deflated_sharpe",
    "expected_max_sharpe",
    "min_track_record",
    "probabilistic_sharpe",
    "return_moments",
    "sharpe_std_error",
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
    """PSR: the probability that the true per-bar Sharpe ratio exceeds ``reference`` (per bar too),
    given the estimate ``sharpe`` from ``n`` returns with this skewness and plain kurtosis:
    Z((SR - SR*) / sharpe_std_error)."""
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
    and these moments (both Sharpe ratios per bar, plain kurtosis; the result in bars):
    1 + (1 - g3 SR + (g4 - 1) / 4 SR^2) (Z(confidence) / (SR - SR*))^2. None when ``sharpe`` does not
    exceed ``reference`` (no length suffices)."""
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
    luck alone (:func:`expected_max_sharpe` with the trials' per-bar Sharpe ``variance``, i.e. an
    annual variance divided by bars per year); ``n`` returns, plain ``kurtosis``."""
    return probabilistic_sharpe(sharpe, expected_max_sharpe(trials, variance), n, skewness, kurtosis)
