"""Probability of backtest over-fitting (PBO) by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado and Zhu, "The Probability of Backtest Overfitting" (Journal of
Computational Finance, 2017): the T x N matrix of bar returns of N trials (parameter sets,
strategies) is cut into S equal blocks of consecutive rows; every choice of S/2 blocks is an
in-sample set and the other S/2 its out-of-sample set. For each choice, the trial with the best
in-sample Sharpe ratio is ranked among all trials out of sample; w = rank / (N + 1) and the logit
log(w / (1 - w)). PBO is the share of choices whose logit is <= 0: the in-sample best landed at or
below the out-of-sample median.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.errors import InvalidRequestError

__all__ = [
    "PboResult",
    "default_partitions",
    "pbo_block",
    "pbo_from_block_sums",
    "probability_of_overfitting",
]

FloatArray = npt.NDArray[np.float64]
_CHUNK = 2048  # combinations scored at once (bounds memory at N trials x this)


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


def _sharpe(s1: FloatArray, s2: FloatArray, n: int) -> FloatArray:
    mean = s1 / n
    var = np.maximum(s2 - s1 * mean, 0.0) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(var > 0.0, mean / np.sqrt(var), 0.0)
    return out


def probability_of_overfitting(returns: npt.ArrayLike, partitions: int = 16) -> PboResult:
    """PBO of the trials whose bar returns are the columns of ``returns`` (rows aligned in time;
    non-finite returns count as 0), over ``partitions`` (even) blocks."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        raise InvalidRequestError(
            "PBO needs a matrix of returns with one column per trial, at least 2 trials"
        )
    if partitions < 2 or partitions % 2:
        raise InvalidRequestError(f"partitions must be an even number >= 2, got {partitions}")
    if r.shape[0] < 2 * partitions:
        raise InvalidRequestError(f"{r.shape[0]} rows cannot fill {partitions} blocks of at least 2 returns")
    r = np.where(np.isfinite(r), r, 0.0)
    s1, s2, size = _block_sums(r, partitions)
    return pbo_from_block_sums(s1, s2, size)


def pbo_from_block_sums(s1: FloatArray, s2: FloatArray, size: int) -> PboResult:
    """PBO from each block's sums of returns ``s1`` and of squared returns ``s2`` (S blocks x N
    trials, ``size`` returns a block): all CSCV reads of the returns, so a caller that accumulates
    them as it goes (a parameter sweep) never holds the T x N matrix."""
    partitions, trials = s1.shape
    total1, total2 = s1.sum(axis=0), s2.sum(axis=0)
    half = partitions // 2
    n_in = size * half
    combos = itertools.combinations(range(partitions), half)
    logits: list[FloatArray] = []
    while chunk := list(itertools.islice(combos, _CHUNK)):
        chosen = np.asarray(chunk, dtype=np.int64)  # (C, S/2)
        member = np.zeros((chosen.shape[0], partitions))
        np.put_along_axis(member, chosen, 1.0, axis=1)
        in1, in2 = member @ s1, member @ s2  # (C, N): the in-sample blocks' sums, one product each
        is_sr = _sharpe(in1, in2, n_in)
        oos_sr = _sharpe(total1 - in1, total2 - in2, n_in)
        best = np.argmax(is_sr, axis=1)
        best_oos = oos_sr[np.arange(best.size), best][:, None]
        rank = 1 + (oos_sr < best_oos).sum(axis=1) + 0.5 * ((oos_sr == best_oos).sum(axis=1) - 1)
        w = rank / (trials + 1.0)
        logits.append(np.log(w / (1.0 - w)))
    values = np.concatenate(logits)
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
