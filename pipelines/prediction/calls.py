"""How a loaded model is called on a feature matrix: in this process (the default) or by an
inference service that holds the same registered version (``serving/inference.py``), behind one
small interface that ``Predictor`` is given."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from pipelines.models.base import FloatMatrix
from pipelines.models.registry import LoadedModel

__all__ = ["InProcessCaller", "ModelCaller"]


class ModelCaller(Protocol):
    """Calls registered version ``loaded`` on the rows ``x`` (float64, the columns it reads, in order)
    and returns its raw outputs (float64). Calls are idempotent: a caller may retry them."""

    def __call__(self, loaded: LoadedModel, x: FloatMatrix) -> FloatMatrix: ...

    def close(self) -> None:
        """Releases what the caller holds open (connections); later calls are not made."""


class InProcessCaller:
    """The model predicts in this process, on the object the registry loaded."""

    def __call__(self, loaded: LoadedModel, x: FloatMatrix) -> FloatMatrix:
        out: FloatMatrix = np.asarray(loaded.model.predict(x), dtype=np.float64)
        return out

    def close(self) -> None:
        return None
