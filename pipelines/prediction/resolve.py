"""Which registered model a request means: an exact name, or a model kind (``"random_forest"``).

An exact registered name always wins. A kind name picks, among the registered models of that kind, the
one trained on the requested symbol, then on the requested timeframe, then on the same asset class,
preferring models with a champion; ties go to the first name in alphabetical order. The registry's
listing is cached for ``ttl`` seconds and re-read once before a name is declared unknown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.models.base import ModelKind
from pipelines.models.summaries import ModelSummary, list_models
from pipelines.models.tracking import Tracker

__all__ = ["ModelResolver"]

_KINDS = {k.value for k in ModelKind}
T = TypeVar("T")


def _quietly(parse: Callable[[str], T], value: str | None) -> T | None:
    if value is None:
        return None
    try:
        return parse(value)
    except InvalidRequestError:
        return None


def _asset_class(symbol: str) -> str | None:
    parsed = _quietly(parse_symbol, symbol)
    return parsed.asset_class.value if parsed is not None else None


class ModelResolver:
    """The registered models, listed from the tracker and cached briefly."""

    def __init__(self, tracker: Tracker, *, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.tracker = tracker
        self.ttl = ttl
        self._clock = clock
        self._cached: tuple[float, list[ModelSummary]] | None = None
        self._lock = threading.Lock()

    def summaries(self, *, refresh: bool = False) -> list[ModelSummary]:
        with self._lock:
            cached = self._cached
            if refresh or cached is None or self._clock() - cached[0] >= self.ttl:
                cached = (self._clock(), list_models(self.tracker))
                self._cached = cached
            return cached[1]

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def resolve(self, model: str, symbol: str | None = None, timeframe: str | None = None) -> str:
        """The registered model name ``model`` stands for (see the module docstring)."""
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequestError("model must be a non-empty model name or model kind")
        name = model.strip()
        # Symbol and timeframe only rank candidates: a malformed one is reported by the prediction.
        sym = _quietly(parse_symbol, symbol)
        parsed_tf = _quietly(parse_timeframe, timeframe)
        tf = parsed_tf.name if parsed_tf is not None else None
        kind = name.lower()
        found: list[ModelSummary] = []
        for refresh in (False, True):
            found = self.summaries(refresh=refresh)
            if any(s.name == name for s in found):
                return name
            candidates = [s for s in found if s.kind == kind]
            if candidates:
                return min(
                    candidates,
                    key=lambda s: (
                        sym is None or s.symbol != sym.name,
                        tf is None or s.timeframe != tf,
                        sym is None or _asset_class(s.symbol) != sym.asset_class.value,
                        s.champion_version is None,
                        s.name,
                    ),
                ).name
        registered = ", ".join(sorted(s.name for s in found)) or "none"
        if kind in _KINDS:
            raise DataNotFoundError(f"no registered model of kind {kind!r}; registered models: {registered}")
        raise DataNotFoundError(
            f"no registered model named {name!r} and no model kind of that name; registered models: "
            f"{registered}; kinds: {', '.join(sorted(_KINDS))}"
        )
