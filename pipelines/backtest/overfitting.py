"""Probability of backtest over-fitting (PBO) by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado and Zhu, "The Probability of Backtest Overfitting" (Journal of
Computational Finance, 2017): the T x N matrix of bar returns of N trials (parameter sets,
strategies) is cut into S equal blocks of consecutive rows; every choice of S/2 blocks is an
in-sample set and the other S/2 its out-of-sample set. For each choice, the trial with the best
in-sample Sharpe ratio is ranked among all trials out of sample; w = rank / (N + 1) and the logit
log(w / (1 - w)). PBO is the share of choices whose logit is <= 0: the in-sample best landed at or
below the out-of-sample median.

Computation: the returns are summed once per block (returns and squares); every split's Sharpe
ratios come from those sums, one compiled pass scoring each complementary pair of splits once
(:mod:`pipelines.backtest._pbo_kernel`). Inputs are bounded (:data:`MAX_PARTITIONS`,
:data:`MAX_WORK`) with a clear error beyond.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.backtest._pbo_kernel import split_ranks
from pipelines.errors import InvalidRequestError

__all__ = [
    "MAX_PARTITIONS",
    "MAX_WORK",
    "PboResult",
    "default_partitions",
    "pbo_block",
    "pbo_from_block_sums",
    "probability_of_overfitting",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MAX_PARTITIONS = 20  # C(20, 10) = 184,756 splits
MAX_WORK = 200_000_000  # splits x trials: about 1 s compiled (16 blocks: 15,540 trials)


@dataclass(frozen=True)
class PboResult:
    """``pbo`` and the ``logits`` it counts (one per combination of ``partitions`` / 2 blocks)."""

    pbo: float
    logits: FloatArray
    partitions: int
    trials: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "pbo": self.pbo,
            "partitions": self.partitions,
            "combinations": int(self.logits.size),
            "trials": self.trials,
            "median_logit": float(np.median(self.logits)),
        }


def default_partitions(rows: int, most: int = 16) -> int | None:
    """The even number of blocks CSCV uses for ``rows`` returns: ``most``, fewer when each block
    would hold under 10 rows; None when even 2 blocks cannot."""
    s = min(most, rows // 10)
    s -= s % 2
    return s if s >= 2 else None


def _block_sums(returns: FloatArray, partitions: int) -> tuple[FloatArray, FloatArray, int]:
    """(sum of returns, sum of squares) per block and trial; each block holds ``rows // S`` rows
    (the last rows that do not fill a block are left out)."""
    size = returns.shape[0] // partitions
    cut = returns[: size * partitions].reshape(partitions, size, returns.shape[1])
    return cut.sum(axis=1), (cut * cut).sum(axis=1), size


@functools.lru_cache(maxsize=4)
def _pairs(partitions: int) -> tuple[IntArray, IntArray, IntArray, int]:
    """The in-sample block sets that hold block 0 (one of each complementary pair), the positions of
    their splits and of their complements' in the lexicographic order of all splits, and how many
    splits there are (cached, read-only)."""
    half = partitions // 2
    every = np.asarray(list(itertools.combinations(range(partitions), half)), dtype=np.int64)
    masks = (np.int64(1) << every).sum(axis=1)
    order = np.argsort(masks)
    full = (1 << partitions) - 1
    holding = np.flatnonzero(every[:, 0] == 0)
    complements = order[np.searchsorted(masks[order], full ^ masks[holding])]
    out = (np.ascontiguousarray(every[holding]), holding, complements)
    for array in out:
        array.flags.writeable = False
    return (*out, every.shape[0])


def _check(r: FloatArray, partitions: int) -> None:
    if r.ndim != 2 or r.shape[1] < 2:
        raise InvalidRequestError(
            "PBO needs a matrix of returns with one column per trial, at least 2 trials"
        )
    if partitions < 2 or partitions % 2 or partitions > MAX_PARTITIONS:
        raise InvalidRequestError(
            f"partitions must be an even number from 2 to {MAX_PARTITIONS}, got {partitions}"
        )
    if r.shape[0] < 2 * partitions:
        raise InvalidRequestError(f"{r.shape[0]} rows cannot fill {partitions} blocks of at least 2 returns")
    work = math.comb(partitions, partitions // 2) * r.shape[1]
    if work > MAX_WORK:
        raise InvalidRequestError(
            f"PBO over {partitions} blocks and {r.shape[1]:,} trials scores {work:,} Sharpe ratios, "
            f"more than the {MAX_WORK:,} allowed: use fewer trials or blocks"
        )


def probability_of_overfitting(returns: npt.ArrayLike, partitions: int = 16) -> PboResult:
    """PBO of the trials whose bar returns are the columns of ``returns`` (rows aligned in time;
    non-finite returns count as 0), over ``partitions`` (even) blocks. Each split's Sharpe ratios
    come from per-block sums of returns and of squares, never from the returns again."""
    r = np.asarray(returns, dtype=np.float64)
    _check(r, partitions)
    r = np.where(np.isfinite(r), r, 0.0)
    s1, s2, size = _block_sums(r, partitions)
    return pbo_from_block_sums(s1, s2, size)


def pbo_from_block_sums(s1: FloatArray, s2: FloatArray, size: int) -> PboResult:
    """PBO from each block's sums of returns ``s1`` and of squared returns ``s2`` (S blocks x N
    trials, ``size`` returns a block): all CSCV reads of the returns, so a caller that accumulates
    them as it goes (a parameter sweep) never holds the T x N matrix."""
    partitions, trials = s1.shape
    sets, slot_a, slot_b, combinations = _pairs(partitions)
    ranks = split_ranks(s1, s2, sets, slot_a, slot_b, size * (partitions // 2), combinations)
    w = ranks / (trials + 1.0)
    values: FloatArray = np.log(w / (1.0 - w))
    return PboResult(float(np.mean(values <= 0.0)), values, partitions, trials)


def pbo_block(returns: npt.ArrayLike) -> dict[str, Any] | None:
    """:func:`probability_of_overfitting` with :func:`default_partitions`, as a JSON-safe dict; None
    when the returns are too few for 2 blocks or there are fewer than 2 trials."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        return None
    partitions = default_partitions(r.shape[0])
    if partitions is None:
        return None
    result = probability_of_overfitting(r, partitions).as_dict()
    return result if math.isfinite(result["median_logit"]) else {**result, "median_logit": None}
