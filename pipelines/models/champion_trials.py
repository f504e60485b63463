"""The deflated Sharpe ratio of a new version across the versions of its registered model.

Each version's held-out Sharpe ratio (:mod:`pipelines.models.champion_psr`: per bar, of its direction
calls on the rows it was compared on, its own validation window for a first version) is kept as tags
on its model version, with the number of returns and their moments. The versions with a recorded
Sharpe ratio, the new one included, are the trials: the new version's DSR is the PSR of its held-out
Sharpe ratio against the maximum expected of that many trials with the variance (ddof = 1) of their
recorded Sharpe ratios (:func:`pipelines.sharpe.deflated_sharpe`). One trial: the PSR against 0.
Versions registered before these tags were written are not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.models.champion_psr import HeldOutPsr
from pipelines.models.tracking import Tracker
from pipelines.sharpe import deflated_sharpe

__all__ = ["SHARPE_TAG", "Deflation", "deflate", "recorded_sharpes"]

SHARPE_TAG = "tradeforge.held_out_sharpe"
_RETURNS_TAG = "tradeforge.held_out_returns"
_SKEWNESS_TAG = "tradeforge.held_out_skewness"
_KURTOSIS_TAG = "tradeforge.held_out_kurtosis"


@dataclass(frozen=True)
class Deflation:
    """The new version's held-out Sharpe ratio, the trials so far and its deflated Sharpe ratio."""

    held_out: HeldOutPsr
    trials: int
    sharpe_variance: float  # of the trials' held-out Sharpe ratios, per bar (0 with one trial)
    deflated_sharpe: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "held_out_sharpe": self.held_out.sharpe,
            "trials": self.trials,
            "trials_sharpe_variance": self.sharpe_variance,
            "deflated_sharpe": self.deflated_sharpe,
        }

    def metrics(self) -> dict[str, float]:
        return {
            "held_out_sharpe": self.held_out.sharpe,
            "held_out_psr": self.held_out.psr,
            "held_out_trials": float(self.trials),
            "held_out_trials_sharpe_variance": self.sharpe_variance,
            "held_out_deflated_sharpe": self.deflated_sharpe,
        }

    def version_tags(self) -> dict[str, str]:
        """What the next versions count this one by."""
        h = self.held_out
        return {
            SHARPE_TAG: repr(h.sharpe),
            _RETURNS_TAG: str(h.returns),
            _SKEWNESS_TAG: repr(h.skewness),
            _KURTOSIS_TAG: repr(h.kurtosis),
        }


def recorded_sharpes(tracker: Tracker, model_name: str) -> list[float]:
    """The finite held-out Sharpe ratios recorded on the versions of ``model_name``."""
    out = []
    for tags in tracker.version_tags(model_name).values():
        try:
            value = float(tags.get(SHARPE_TAG, "nan"))
        except ValueError:
            continue
        if math.isfinite(value):
            out.append(value)
    return out


def deflate(held_out: HeldOutPsr, earlier: list[float]) -> Deflation | None:
    """``held_out`` deflated by the ``earlier`` versions' Sharpe ratios; None without a Sharpe ratio."""
    if not (math.isfinite(held_out.sharpe) and held_out.returns >= 3):
        return None
    sharpes = [*earlier, held_out.sharpe]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
    h = held_out
    dsr = deflated_sharpe(h.sharpe, h.returns, h.skewness, h.kurtosis, len(sharpes), variance)
    return Deflation(held_out, len(sharpes), variance, dsr)
