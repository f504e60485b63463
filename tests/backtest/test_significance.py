"""Sharpe ratio significance and over-fitting: the papers' worked numbers, identities that define
the statistics, and synthetic returns whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.backtest.overfitting import default_partitions, pbo_block, probability_of_overfitting
from pipelines.backtest.significance import (
    deflated_sharpe,
    expected_max_sharpe,
    min_track_record,
    probabilistic_sharpe,
    return_moments,
    sharpe_significance,
    sharpe_std_error,
    walk_forward_efficiency,
    walk_forward_means,
)
from pipelines.errors import InvalidRequestError


def test_deflated_sharpe_reproduces_the_papers_numerical_example() -> None:
    """Bailey and López de Prado, "The Deflated Sharpe Ratio" (J. Portfolio Management 40(5), 2014),
    numerical example: an annualized Sharpe ratio of 2.5 measured on T = 1,250 daily returns (250 a
    year), the best of N = 100 trials whose annualized Sharpe ratios have variance V = 1/2, returns with
    skewness -3 and kurtosis 10. The paper finds the expected maximum SR0 ~ 0.1132 per day
    (1.7894 a year) and DSR ~ 0.9004: not significant at 95% despite the 2.5."""
    per_year = 250
    sr = 2.5 / math.sqrt(per_year)
    variance = 0.5 / per_year
    sr0 = expected_max_sharpe(100, variance)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert sr0 * math.sqrt(per_year) == pytest.approx(1.7894, abs=5e-4)
    dsr = deflated_sharpe(sr, 1250, -3.0, 10.0, 100, variance)
    assert dsr == pytest.approx(0.9004, abs=5e-4)
    block = sharpe_significance(
        np.zeros(0), per_year=per_year, trials=100, trials_sharpe_variance=0.5
    )  # no returns: nothing claimed
    assert block["deflated_sharpe"] is None and block["significant"] is False


def test_psr_and_min_track_record_follow_the_efficient_frontier_paper() -> None:
    """Bailey and López de Prado, "The Sharpe Ratio Efficient Frontier" (J. Risk 15(2), 2012): the
    SR estimator's variance is (1 - g3 SR + (g4 - 1) / 4 SR^2) / (n - 1) (Mertens 2002), which is Lo's
    (1 + SR^2 / 2) / (n - 1) for normal returns (g3 = 0, g4 = 3); PSR(SR*) = Z((SR - SR*) / that
    error) and MinTRL is the length at which PSR reaches the confidence. Their illustration: negative
    skew and fat tails (the paper's hedge-fund-like g3 = -2.448, g4 = 10.164 monthly returns) need a
    longer track record than normal returns at the same Sharpe ratio."""
    sr, n = 0.2, 60
    assert sharpe_std_error(sr, n) == pytest.approx(math.sqrt((1 + sr**2 / 2) / (n - 1)))
    assert sharpe_std_error(sr, n, -2.448, 10.164) == pytest.approx(
        math.sqrt((1 + 2.448 * sr + 9.164 / 4 * sr**2) / (n - 1))
    )
    assert probabilistic_sharpe(sr, sr, n) == pytest.approx(0.5)
    normal = min_track_record(sr, 0.0)
    skewed = min_track_record(sr, 0.0, -2.448, 10.164)
    assert normal is not None and skewed is not None and skewed > normal
    # At exactly MinTRL returns, PSR is the confidence asked for (it defines MinTRL).
    for length, g3, g4 in ((normal, 0.0, 3.0), (skewed, -2.448, 10.164)):
        z = (sr - 0.0) * math.sqrt(length - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
        assert 0.5 * math.erfc(-z / math.sqrt(2)) == pytest.approx(0.95, abs=1e-9)
    assert min_track_record(0.1, 0.2) is None
    with pytest.raises(InvalidRequestError, match="confidence"):
        min_track_record(0.2, 0.0, confidence=1.5)


def test_sharpe_std_error_matches_monte_carlo_on_skewed_returns() -> None:
    """The non-normal standard error is the spread of Sharpe ratios measured on many skewed samples
    (a normal-theory error would be too small for negatively skewed, fat-tailed returns)."""
    rng = np.random.default_rng(3)
    n, paths = 500, 4000
    # Negatively skewed: minus a centred lognormal, shifted to a positive mean.
    raw = -(rng.lognormal(0.0, 0.8, size=(paths, n)) - math.exp(0.32)) + 0.15
    sharpes = raw.mean(axis=1) / raw.std(axis=1, ddof=1)
    pooled = return_moments(raw.ravel())
    assert pooled is not None and pooled.skewness < -1.5 and pooled.kurtosis > 6
    predicted = sharpe_std_error(pooled.sharpe, n, pooled.skewness, pooled.kurtosis)
    assert float(np.std(sharpes)) == pytest.approx(predicted, rel=0.08)
    assert predicted > sharpe_std_error(pooled.sharpe, n) * 1.05


def test_best_of_1000_random_strategies_looks_good_but_is_not_significant() -> None:
    """No edge at all: 1,000 strategies of iid normal daily returns with mean 0 over 4 years. The
    best raw Sharpe ratio looks like skill, its PSR against 0 alone says significant, and the
    deflated Sharpe ratio, with trials = 1,000 and the trials' Sharpe variance, says it is luck."""
    rng = np.random.default_rng(11)
    per_year, days, trials = 252, 1008, 1000
    returns = rng.normal(0.0, 0.01, size=(days, trials))
    sharpes = returns.mean(axis=0) / returns.std(axis=0, ddof=1) * math.sqrt(per_year)
    best = int(np.argmax(sharpes))
    assert sharpes[best] > 1.3  # it looks good
    alone = sharpe_significance(returns[:, best], per_year=per_year)
    assert alone["psr_vs_zero"] > 0.99 and alone["significant"] is True
    honest = sharpe_significance(
        returns[:, best],
        per_year=per_year,
        trials=trials,
        trials_sharpe_variance=float(np.var(sharpes, ddof=1)),
    )
    assert honest["sharpe_ratio"] == pytest.approx(sharpes[best])
    assert honest["expected_max_sharpe"] > 1.3
    assert honest["deflated_sharpe"] < 0.95 and honest["significant"] is False


def test_pbo_of_pure_noise_is_near_one_half() -> None:
    """Trials with no edge: the in-sample best is a random draw out of sample, below the median half
    of the time."""
    rng = np.random.default_rng(5)
    returns = rng.normal(0.0, 0.01, size=(1600, 50))
    result = probability_of_overfitting(returns, 16)
    assert result.logits.size == math.comb(16, 8)
    assert result.pbo == pytest.approx(0.5, abs=0.12)


def test_pbo_of_pure_noise_averages_one_half_over_many_data_sets() -> None:
    """On noise the in-sample best's out-of-sample rank is uniform, so PBO is 1/2 *in expectation*;
    one data set's splits all reuse the same returns, so a single PBO swings widely around it (about
    0.13 standard deviation at 1,000 trials and 16 blocks; 0.24 at 10 trials and 8 blocks). Averaged
    over 300 independent data sets it is 1/2 within its standard error."""
    values = np.array(
        [
            probability_of_overfitting(np.random.default_rng(seed).normal(0.0, 0.01, (320, 10)), 8).pbo
            for seed in range(300)
        ]
    )
    spread = float(values.std(ddof=1))
    assert float(values.mean()) == pytest.approx(0.5, abs=3 * spread / math.sqrt(values.size))
    assert spread > 0.15  # a single noise data set is far from a precise 1/2
    assert float(values.min()) < 0.25 and float(values.max()) > 0.75


def test_pbo_of_a_dominant_edge_is_near_zero() -> None:
    """One trial with a real edge wins in and out of sample in every split: PBO ~ 0."""
    rng = np.random.default_rng(6)
    returns = rng.normal(0.0, 0.01, size=(1600, 20))
    returns[:, 7] += 0.004  # a daily Sharpe of 0.4: about 6 a year
    result = probability_of_overfitting(returns, 16)
    assert result.pbo < 0.01
    assert float(np.median(result.logits)) > 2.0


def test_pbo_rejects_bad_shapes_and_picks_partitions() -> None:
    with pytest.raises(InvalidRequestError, match="at least 2 trials"):
        probability_of_overfitting(np.zeros((100, 1)))
    with pytest.raises(InvalidRequestError, match="even"):
        probability_of_overfitting(np.zeros((100, 3)), 5)
    assert default_partitions(1000) == 16
    assert default_partitions(70) == 6
    assert default_partitions(15) is None
    assert pbo_block(np.zeros((15, 3))) is None
    block = pbo_block(np.random.default_rng(1).normal(size=(200, 3)))
    assert block is not None and block["partitions"] == 16 and block["combinations"] == 12870


def test_walk_forward_efficiency() -> None:
    assert walk_forward_efficiency([1.0, 2.0], [0.5, 1.0]) == pytest.approx(0.5)
    assert walk_forward_efficiency([1.0, None], [0.2, 5.0]) == pytest.approx(0.2)
    assert walk_forward_efficiency([-1.0], [0.5]) is None
    assert walk_forward_efficiency([], []) is None
    # the means are over the folds that have both, so the efficiency is exactly their ratio
    assert walk_forward_means([1.0, None, 3.0], [0.5, 9.0, None]) == (1.0, 0.5)
    assert walk_forward_means([None, None], [0.2, 0.4]) == (None, pytest.approx(0.3))
    assert walk_forward_means([], []) == (None, None)
