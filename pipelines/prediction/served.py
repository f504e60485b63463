"""Registered models as an inference service holds them: versions by name and ref, an alias (champion)
checked again every few seconds so a moved alias is picked up, and many calls answered together.

Calls of one version of a tree model (lightgbm, xgboost, random forest) with one context row are
stacked into one matrix and predicted at once: each row's output does not depend on the others, so
the answers equal those of separate calls bit for bit. Other kinds are called once per matrix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.errors import ModelError, TradeforgeError
from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.registry import LoadedModel, ModelRegistry

__all__ = ["ModelAnswer", "ModelCall", "ServedModels"]

_ROW_EXACT = frozenset({ModelKind.LIGHTGBM, ModelKind.XGBOOST, ModelKind.RANDOM_FOREST})


@dataclass(frozen=True, slots=True)
class ModelCall:
    model: str
    ref: str  # a version number, an alias (champion) or latest
    x: FloatMatrix


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    model: str
    version: str | None  # the version that answered (None: it failed before one was found)
    out: FloatMatrix | None
    error: str | None = None
    code: str | None = None  # the error's code (NOT_FOUND, MODEL_ERROR...)


class ServedModels:
    def __init__(
        self,
        registry: ModelRegistry,
        alias_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.alias_seconds = alias_seconds
        self._clock = clock
        self._aliases: dict[tuple[str, str], tuple[str, float]] = {}  # -> (version, checked at)
        self._lock = threading.Lock()

    def load(self, model: str, ref: str = "champion") -> LoadedModel:
        """The version ``ref`` names now; an alias is asked of the registry at most every
        ``alias_seconds`` (a moved alias loads its new version on the first call after that)."""
        ref = str(ref)
        if ref.isdigit():
            return self.registry.load(model, ref)
        now = self._clock()
        with self._lock:
            hit = self._aliases.get((model, ref))
        if hit is None or now - hit[1] >= self.alias_seconds:
            version = self.registry.resolve(model, ref).version
            with self._lock:
                self._aliases[(model, ref)] = (version, now)
        else:
            version = hit[0]
        return self.registry.load(model, version)

    def answer(self, calls: Sequence[ModelCall]) -> list[ModelAnswer]:
        """One answer per call, in order; a call that fails gets its error, the others their outputs."""
        answers: list[ModelAnswer | None] = [None] * len(calls)
        stacks: dict[tuple[str, str], list[int]] = {}
        loaded: dict[int, LoadedModel] = {}
        for i, call in enumerate(calls):
            try:
                found = loaded[i] = self.load(call.model, call.ref)
            except TradeforgeError as exc:
                answers[i] = ModelAnswer(call.model, None, None, str(exc), exc.code)
                continue
            except Exception as exc:
                answers[i] = ModelAnswer(call.model, None, None, f"registry failed: {exc}", ModelError.code)
                continue
            if _stackable(found, call.x):
                stacks.setdefault((found.name, found.version), []).append(i)
            else:
                answers[i] = _predict_one(found, call.x)
        for indices in stacks.values():
            stacked = _predict_stacked(loaded[indices[0]], [calls[i].x for i in indices])
            for i, answer in zip(indices, stacked, strict=True):
                answers[i] = answer
        return [a for a in answers if a is not None]


def _stackable(loaded: LoadedModel, x: FloatMatrix) -> bool:
    return loaded.meta.kind in _ROW_EXACT and int(loaded.meta.context_rows) <= 1 and x.ndim == 2


def _predict(loaded: LoadedModel, x: FloatMatrix) -> FloatMatrix:
    try:
        out: FloatMatrix = np.asarray(loaded.model.predict(x), dtype=np.float64)
    except TradeforgeError:
        raise
    except Exception as exc:
        raise ModelError(f"model {loaded.name!r} v{loaded.version} failed to predict: {exc}") from exc
    return out


def _predict_one(loaded: LoadedModel, x: FloatMatrix) -> ModelAnswer:
    try:
        return ModelAnswer(loaded.name, loaded.version, _predict(loaded, x))
    except TradeforgeError as exc:
        return ModelAnswer(loaded.name, loaded.version, None, str(exc), exc.code)


def _predict_stacked(loaded: LoadedModel, xs: list[FloatMatrix]) -> list[ModelAnswer]:
    widths = {x.shape[1] for x in xs}
    if len(xs) == 1 or len(widths) > 1:  # mismatched widths: each call gets its own error
        return [_predict_one(loaded, x) for x in xs]
    try:
        out = _predict(loaded, np.concatenate(xs, axis=0))
    except TradeforgeError:
        return [_predict_one(loaded, x) for x in xs]  # find which call fails
    bounds = np.cumsum([x.shape[0] for x in xs])[:-1]
    return [ModelAnswer(loaded.name, loaded.version, part) for part in np.split(out, bounds, axis=0)]
