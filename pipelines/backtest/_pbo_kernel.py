"""The compiled CSCV pass: for each pair of complementary block sets, the in-sample best trial's
out-of-sample rank, both ways round.

A set A of S/2 blocks and its complement B are two splits: A in sample with B out of sample, and B
in sample with A out of sample. Both need the Sharpe ratios of every trial on A and on B, so each
pair computes them once (the sums of A's blocks, B's as the total minus A's) and ranks twice: half
the Sharpe ratios a split-by-split pass computes. A's sums are built on the prefix of blocks it
shares with the previous set (about a third of the additions for 12 blocks). The Sharpe ratio of a
sum s1 and sum of squares s2 over n returns is (s1 / n) / sqrt(max(s2 - s1 * s1 / n, 0) / (n - 1)),
0 without variance; the rank is 1 + (trials below) + (ties - 1) / 2, the first in-sample maximum
taken as the best.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["split_ranks"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# numpy's error model: a division by 0 gives inf instead of a check in the loop, so loops vectorize.
_jit = njit(cache=True, nogil=True, error_model="numpy")


def _sharpe_impl(s1: float, s2: float, n: float) -> float:
    mean = s1 / n
    var = (s2 - s1 * mean) / (n - 1.0)
    sharpe = mean / math.sqrt(var)  # NaN or inf without variance (numpy's error model), then 0
    return sharpe if var > 0.0 else 0.0


_sharpe = _jit(_sharpe_impl)


def _rank_impl(in_sample: FloatArray, out_of_sample: FloatArray) -> float:
    """Out-of-sample rank (1 = worst) of the trial with the best in-sample Sharpe ratio."""
    best = 0
    top = in_sample[0]
    for j in range(in_sample.size):
        value = in_sample[j]
        if np.isnan(value):  # as numpy's argmax: the first NaN wins
            best = j
            break
        if value > top:
            best, top = j, value
    mark = out_of_sample[best]
    below = 0
    ties = 0
    for j in range(out_of_sample.size):
        value = out_of_sample[j]
        below += value < mark
        ties += value == mark
    return 1.0 + below + 0.5 * (ties - 1)


_rank = _jit(_rank_impl)


def _split_ranks_impl(
    s1: FloatArray,
    s2: FloatArray,
    total1: FloatArray,
    total2: FloatArray,
    sets: IntArray,
    slot_a: IntArray,
    slot_b: IntArray,
    half_rows: int,
    ranks: FloatArray,
) -> None:
    trials = s1.shape[1]
    half = sets.shape[1]
    n = float(half_rows)
    # prefix[d] = the sums of the set's first d blocks, added in order from 0: the sets come in
    # lexicographic order, so a set recomputes only the prefixes past the one it shares with the
    # previous set (the very sums, bit for bit, of adding its blocks one by one).
    prefix1, prefix2 = np.zeros((half + 1, trials)), np.zeros((half + 1, trials))
    sr_a, sr_b = np.empty(trials), np.empty(trials)
    for p in range(sets.shape[0]):
        shared = 0
        while p > 0 and shared < half and sets[p, shared] == sets[p - 1, shared]:
            shared += 1
        for d in range(shared, half):
            block = sets[p, d]
            for j in range(trials):
                prefix1[d + 1, j] = prefix1[d, j] + s1[block, j]
                prefix2[d + 1, j] = prefix2[d, j] + s2[block, j]
        a1, a2 = prefix1[half], prefix2[half]
        for j in range(trials):
            sr_a[j] = _sharpe(a1[j], a2[j], n)
            sr_b[j] = _sharpe(total1[j] - a1[j], total2[j] - a2[j], n)
        ranks[slot_a[p]] = _rank(sr_a, sr_b)
        ranks[slot_b[p]] = _rank(sr_b, sr_a)


_split_ranks = _jit(_split_ranks_impl)


def split_ranks(
    s1: FloatArray,
    s2: FloatArray,
    sets: IntArray,
    slot_a: IntArray,
    slot_b: IntArray,
    half_rows: int,
    combinations: int,
) -> FloatArray:
    """The ranks of ``combinations`` splits from the (S, N) block sums ``s1`` (returns) and ``s2``
    (squares), S/2 blocks holding ``half_rows`` returns: ``sets`` (P, S/2) the in-sample blocks of one
    split of each complementary pair, whose rank goes to ``slot_a`` and its complement's to
    ``slot_b``."""
    ranks = np.empty(combinations)
    total1, total2 = s1.sum(axis=0), s2.sum(axis=0)
    _split_ranks(
        np.ascontiguousarray(s1),
        np.ascontiguousarray(s2),
        total1,
        total2,
        np.ascontiguousarray(sets, dtype=np.int64),
        np.ascontiguousarray(slot_a, dtype=np.int64),
        np.ascontiguousarray(slot_b, dtype=np.int64),
        half_rows,
        ranks,
    )
    return ranks
