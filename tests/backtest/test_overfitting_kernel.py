"""The compiled CSCV gives the same logits, split by split, as a plain implementation that scores
every split on its own (the previous implementation, kept here as the reference), on random returns,
ties and non-finite values, and bounds its inputs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
import pytest

from pipelines.backtest.overfitting import MAX_PARTITIONS, MAX_WORK, probability_of_overfitting
from pipelines.errors import InvalidRequestError

FloatArray = npt.NDArray[np.float64]


def _sharpe(s1: FloatArray, s2: FloatArray, n: int) -> FloatArray:
    mean = s1 / n
    var = np.maximum(s2 - s1 * mean, 0.0) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(var > 0.0, mean / np.sqrt(var), 0.0)
    return out


def _reference_logits(returns: FloatArray, partitions: int) -> FloatArray:
    """Every split in lexicographic order: in-sample block sums by a 0/1 matrix product, the best
    in-sample trial (first maximum), its out-of-sample rank with ties at their mean rank."""
    r = np.where(np.isfinite(returns), returns, 0.0)
    size = r.shape[0] // partitions
    cut = r[: size * partitions].reshape(partitions, size, r.shape[1])
    s1, s2 = cut.sum(axis=1), (cut * cut).sum(axis=1)
    total1, total2 = s1.sum(axis=0), s2.sum(axis=0)
    half = partitions // 2
    chosen = np.asarray(list(itertools.combinations(range(partitions), half)), dtype=np.int64)
    member = np.zeros((chosen.shape[0], partitions))
    np.put_along_axis(member, chosen, 1.0, axis=1)
    in1, in2 = member @ s1, member @ s2
    is_sr = _sharpe(in1, in2, size * half)
    oos_sr = _sharpe(total1 - in1, total2 - in2, size * half)
    best = np.argmax(is_sr, axis=1)
    best_oos = oos_sr[np.arange(best.size), best][:, None]
    rank = 1 + (oos_sr < best_oos).sum(axis=1) + 0.5 * ((oos_sr == best_oos).sum(axis=1) - 1)
    w = rank / (r.shape[1] + 1.0)
    logits: FloatArray = np.log(w / (1.0 - w))
    return logits


@pytest.mark.parametrize(
    ("rows", "trials", "partitions", "seed"),
    [(320, 10, 8, 0), (1600, 50, 16, 1), (203, 3, 16, 2), (40, 2, 2, 3), (130, 7, 4, 4), (900, 200, 12, 5)],
)
def test_same_logits_as_scoring_every_split_on_its_own(
    rows: int, trials: int, partitions: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0002, 0.01, size=(rows, trials))
    returns[:, 0] += 0.001 * np.sin(np.arange(rows) / 17.0)  # some structure across blocks
    result = probability_of_overfitting(returns, partitions)
    expected = _reference_logits(returns, partitions)
    assert result.logits.size == math.comb(partitions, partitions // 2)
    np.testing.assert_array_equal(result.logits, expected)
    assert result.pbo == float(np.mean(expected <= 0.0))


def test_same_logits_with_ties_flat_trials_and_non_finite_returns() -> None:
    """Flat and identical trials tie (mean rank, the first maximum is the best); NaN and inf count as
    0; a matrix of zeros has every trial tied everywhere."""
    rng = np.random.default_rng(9)
    returns = rng.normal(0.0, 0.01, size=(400, 12))
    returns[:, 3] = 0.0  # no variance: Sharpe 0
    returns[:, 5] = returns[:, 4]  # an exact twin
    returns[::7, 6] = np.nan
    returns[3, 8] = np.inf
    for partitions in (4, 10, 16):
        np.testing.assert_array_equal(
            probability_of_overfitting(returns, partitions).logits, _reference_logits(returns, partitions)
        )
    zeros = np.zeros((100, 5))
    result = probability_of_overfitting(zeros, 6)
    np.testing.assert_array_equal(result.logits, _reference_logits(zeros, 6))
    assert np.all(result.logits == 0.0) and result.pbo == 1.0


def test_bounds_give_clear_errors() -> None:
    with pytest.raises(InvalidRequestError, match="at least 2 trials"):
        probability_of_overfitting(np.zeros((100, 1)))
    with pytest.raises(InvalidRequestError, match="at least 2 trials"):
        probability_of_overfitting(np.zeros(100))
    with pytest.raises(InvalidRequestError, match="even number from 2 to"):
        probability_of_overfitting(np.zeros((100, 3)), 5)
    with pytest.raises(InvalidRequestError, match="even number from 2 to"):
        probability_of_overfitting(np.zeros((1000, 3)), MAX_PARTITIONS + 2)
    with pytest.raises(InvalidRequestError, match="cannot fill"):
        probability_of_overfitting(np.zeros((31, 3)), 16)
    too_many = MAX_WORK // math.comb(16, 8) + 1
    with pytest.raises(InvalidRequestError, match="allowed"):
        probability_of_overfitting(np.zeros((32, too_many)), 16)


def test_same_logits_as_ranking_each_splits_concatenated_returns() -> None:
    """Independent of block sums: each split's in- and out-of-sample returns concatenated, their
    Sharpe ratios taken from the returns themselves (ddof = 1), ranked with scipy's average ranks, the
    in-sample best's out-of-sample rank over N + 1 (as the paper's CSCV, the way pypbo computes it)."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(21)
    partitions, size, trials = 8, 40, 15
    returns = rng.standard_t(5, size=(partitions * size, trials)) * 0.01 + 0.0003
    blocks = returns.reshape(partitions, size, trials)
    logits = []
    for chosen in itertools.combinations(range(partitions), partitions // 2):
        rest = [b for b in range(partitions) if b not in chosen]
        inside, outside = np.concatenate(blocks[list(chosen)]), np.concatenate(blocks[rest])
        is_sr = inside.mean(axis=0) / inside.std(axis=0, ddof=1)
        oos_sr = outside.mean(axis=0) / outside.std(axis=0, ddof=1)
        w = rankdata(oos_sr)[int(np.argmax(is_sr))] / (trials + 1.0)
        logits.append(math.log(w / (1.0 - w)))
    result = probability_of_overfitting(returns, partitions)
    np.testing.assert_allclose(result.logits, logits, rtol=0, atol=1e-12)
