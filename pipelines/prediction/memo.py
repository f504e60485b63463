"""The last answer of each (model version, series), reused while its input row is unchanged.

A served model is a pure function of its input rows, and between two new bars every caller of one
model and symbol asks the same question: the answer made from a cached feature matrix is kept with
that matrix and reused for as long as the feature cache hands out the same matrix object (a new
bar, a recomputation or a reload makes a new one, and the next call predicts again). Only the
model's output and what is derived from it are reused; each call still makes (and logs) its own
prediction with its own timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.prediction.results import ForecastStep

__all__ = ["AnswerMemo", "Outcome"]

_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a model call on one feature row gave, and the signal rules made of it."""

    predicted: float
    forecast: tuple[ForecastStep, ...] | None
    value: float
    direction: str
    signal: float
    confidence: float
    recommendation: str
    indicators: dict[str, float | None]


class AnswerMemo:
    """Outcomes by (model, version, source, symbol), valid only for the same plan, matrix and columns."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str, str], tuple[Any, Any, Any, Outcome]] = {}

    def get(self, key: tuple[str, str, str, str], plan: Any, matrix: Any, columns: Any) -> Outcome | None:
        hit = self._entries.get(key)  # a dict read is atomic: no lock on the hot path
        if hit is not None and hit[0] is plan and hit[1] is matrix and hit[2] is columns:
            return hit[3]
        return None

    def put(
        self, key: tuple[str, str, str, str], plan: Any, matrix: Any, columns: Any, outcome: Outcome
    ) -> None:
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (plan, matrix, columns, outcome)

    def clear(self) -> None:
        self._entries.clear()
