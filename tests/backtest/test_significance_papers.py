"""The Sharpe ratio statistics against the papers' published worked numbers, and against an
independent implementation written here from the papers' formulas with ``scipy.stats``.

Conventions checked: Sharpe ratios per period (not annualized) inside the formulas, ``kurtosis``
the plain (Pearson) kurtosis, 3 for normal returns (not the excess kurtosis), moments the biased
sample moments (``scipy.stats.skew`` / ``kurtosis(fisher=False)`` defaults), the Sharpe ratio
mean / standard deviation with ddof = 1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pipelines.backtest.significance import (
    deflated_sharpe,
    expected_max_sharpe,
    min_track_record,
    probabilistic_sharpe,
    return_moments,
    sharpe_significance,
    sharpe_std_error,
)

EULER = 0.5772156649015329


def _ref_std(sr: float, n: int, g3: float, g4: float) -> float:
    """sigma(SR) = sqrt((1 + SR^2 / 2 - g3 SR + (g4 - 3) / 4 SR^2) / (n - 1)), g4 plain kurtosis."""
    return math.sqrt((1 + 0.5 * sr**2 - g3 * sr + (g4 - 3) / 4 * sr**2) / (n - 1))


def _ref_psr(sr: float, ref: float, n: int, g3: float, g4: float) -> float:
    return float(stats.norm.cdf((sr - ref) / _ref_std(sr, n, g3, g4)))


def _ref_mintrl(sr: float, ref: float, g3: float, g4: float, p: float) -> float:
    return 1 + (1 - g3 * sr + (g4 - 1) / 4 * sr**2) * (float(stats.norm.ppf(p)) / (sr - ref)) ** 2


def _ref_emax(trials: int, variance: float) -> float:
    z1 = float(stats.norm.ppf(1 - 1 / trials))
    z2 = float(stats.norm.ppf(1 - 1 / (trials * math.e)))
    return math.sqrt(variance) * ((1 - EULER) * z1 + EULER * z2)


def test_psr_of_the_efficient_frontier_papers_two_year_example() -> None:
    """Bailey and López de Prado, "The Sharpe Ratio Efficient Frontier" (J. Risk 15(2), 2012): a
    monthly Sharpe ratio of 0.458 (1.59 a year) over n = 24 months has PSR(0) = 0.982 with normal
    returns, and only 0.913 with the skewness -2.448 and (plain) kurtosis 10.164 of their example."""
    assert round(probabilistic_sharpe(0.458, 0.0, 24), 3) == 0.982
    assert round(probabilistic_sharpe(0.458, 0.0, 24, -2.448, 10.164), 3) == 0.913
    # Reading 10.164 as *excess* kurtosis would give a different, wrong answer: the convention matters.
    assert round(probabilistic_sharpe(0.458, 0.0, 24, -2.448, 13.164), 3) != 0.913


@pytest.mark.parametrize(
    ("sr", "g3", "g4", "std", "years"),
    [(0.7079, -0.2250, 2.9570, 0.1028, 0.7152), (0.8183, -1.4455, 7.0497, 0.1550, 1.1593)],
)
def test_std_error_and_min_track_record_of_the_efficient_frontier_papers_table(
    sr: float, g3: float, g4: float, std: float, years: float
) -> None:
    """The same paper's two-fund table: n = 134 monthly returns, the fund's Sharpe ratio, skewness
    and kurtosis give the standard error and MinTRL (95%, against 0) it prints, MinTRL in years of
    12 months."""
    assert round(sharpe_std_error(sr, 134, g3, g4), 4) == std
    mintrl = min_track_record(sr, 0.0, g3, g4, 0.95)
    assert mintrl is not None and round(mintrl / 12, 4) == years


def test_deflated_sharpe_of_the_deflated_sharpe_papers_example_to_four_digits() -> None:
    """Bailey and López de Prado, "The Deflated Sharpe Ratio" (J. Portfolio Management 40(5), 2014):
    N = 100 trials, T = 1,250 daily returns (250 a year), annualized SR 2.5, annualized variance of
    the trials' Sharpe ratios 1/2, skewness -3, kurtosis 10: SR0 = 0.1132 a day, DSR = 0.9004. The
    annualized inputs are turned into per-day ones by sqrt(250) (SR) and 250 (variance)."""
    sr, variance = 2.5 / math.sqrt(250), 0.5 / 250
    assert round(expected_max_sharpe(100, variance), 4) == 0.1132
    assert round(deflated_sharpe(sr, 1250, -3.0, 10.0, 100, variance), 4) == 0.9004
    # Annualized inputs fed to the per-day formulas would be far off.
    assert deflated_sharpe(2.5, 1250, -3.0, 10.0, 100, 0.5) != pytest.approx(0.9004, abs=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_formulas_match_an_independent_scipy_implementation(seed: int) -> None:
    """Random Sharpe ratios, moments, lengths and references: every formula agrees with the one
    above to 1e-12."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        sr, ref = float(rng.uniform(-0.3, 0.5)), float(rng.uniform(-0.2, 0.2))
        g3 = float(rng.uniform(-3, 1))
        g4 = 1 + g3**2 + float(rng.uniform(0, 12))  # any sample has g4 >= 1 + g3^2
        n = int(rng.integers(10, 5000))
        trials, variance = int(rng.integers(2, 10_000)), float(rng.uniform(1e-5, 0.05))
        assert sharpe_std_error(sr, n, g3, g4) == pytest.approx(_ref_std(sr, n, g3, g4), rel=1e-12)
        assert probabilistic_sharpe(sr, ref, n, g3, g4) == pytest.approx(
            _ref_psr(sr, ref, n, g3, g4), abs=1e-12
        )
        got = min_track_record(sr, ref, g3, g4, 0.95)
        if sr > ref:
            assert got == pytest.approx(_ref_mintrl(sr, ref, g3, g4, 0.95), rel=1e-10)
        else:
            assert got is None
        assert expected_max_sharpe(trials, variance) == pytest.approx(_ref_emax(trials, variance), rel=1e-10)
        assert deflated_sharpe(sr, n, g3, g4, trials, variance) == pytest.approx(
            _ref_psr(sr, _ref_emax(trials, variance), n, g3, g4), abs=1e-10
        )


def test_significance_block_from_returns_matches_scipy_moments_and_annualizes() -> None:
    """From skewed daily returns: the moments are scipy's biased skewness and plain kurtosis, the
    block's Sharpe ratio, its error and the expected maximum are annualized by sqrt(P), PSR and DSR
    are the per-day formulas, and MinTRL years are bars / P."""
    rng = np.random.default_rng(42)
    per_year = 252
    r = 0.0008 - (rng.lognormal(0.0, 0.7, 2000) - math.exp(0.245)) * 0.01
    moments = return_moments(r)
    assert moments is not None
    g3, g4 = float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))
    assert moments.skewness == pytest.approx(g3, rel=1e-10) and moments.kurtosis == pytest.approx(
        g4, rel=1e-10
    )
    sr = float(r.mean() / r.std(ddof=1))
    assert g3 < -1.0 and g4 > 5.0 and moments.sharpe == pytest.approx(sr)
    bench_annual = 0.3
    block = sharpe_significance(
        r, per_year=per_year, benchmark_sharpe=bench_annual, trials=50, trials_sharpe_variance=0.4
    )
    root = math.sqrt(per_year)
    assert block["sharpe_ratio"] == pytest.approx(sr * root)
    assert block["sharpe_std_error"] == pytest.approx(_ref_std(sr, r.size, g3, g4) * root)
    assert block["psr_vs_zero"] == pytest.approx(_ref_psr(sr, 0.0, r.size, g3, g4))
    assert block["psr_vs_benchmark"] == pytest.approx(_ref_psr(sr, bench_annual / root, r.size, g3, g4))
    assert block["min_track_record_bars"] == pytest.approx(_ref_mintrl(sr, 0.0, g3, g4, 0.95))
    assert block["min_track_record_years"] == pytest.approx(block["min_track_record_bars"] / per_year)
    emax = _ref_emax(50, 0.4 / per_year)
    assert block["expected_max_sharpe"] == pytest.approx(emax * root)
    assert block["deflated_sharpe"] == pytest.approx(_ref_psr(sr, emax, r.size, g3, g4))
