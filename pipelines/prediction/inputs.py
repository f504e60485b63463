"""What a model reads, and which features serving computes for it.

A tree ensemble reads only the features some split uses (``features_read``): LightGBM with 100
trees on the default set reads about 60 of its 101 columns, from about 50 of its 79 indicators.
Serving computes those indicators only (``FeatureSet.subset``) and passes NaN for the columns the
model never reads, which no split looks at, so the prediction is the one the full row gives.

One subset serves every loaded model of a feature set: ``InputSets`` keeps the union of what they
read, so two models on one symbol share one feature computation (and one live stream). The union
only grows: loading a model that reads more widens it (the narrower subset's cached rows are
dropped); unloading one does not narrow it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from pipelines.features.indicators import FeatureSet
from pipelines.models.base import FloatMatrix
from pipelines.models.kinds import BaseRegressor

__all__ = ["InputSets", "ModelInputs"]

IndexArray = npt.NDArray[np.intp]


def features_read(model: BaseRegressor) -> list[str]:
    """The features ``model`` reads (``features_read``), checked on one probe row: the prediction
    with the others set to NaN must equal the full one, else the model counts as reading all."""
    names = list(model.feature_names)
    reads = model.features_read()
    if reads is None or not reads or len(reads) == len(names) or model.context_rows != 1:
        return names
    read = set(reads)
    probe = np.linspace(-1.0, 1.0, len(names)).reshape(1, -1)
    masked = probe.copy()
    masked[0, [i for i, name in enumerate(names) if name not in read]] = np.nan
    if not np.array_equal(model.predict(probe), model.predict(masked), equal_nan=True):
        return names
    return [name for name in names if name in read]


class ModelInputs:
    """A model's input rows from the rows of any feature set that has the columns it reads."""

    def __init__(self, feature_names: Iterable[str], reads: Iterable[str]) -> None:
        self.feature_names = list(feature_names)
        self.reads = frozenset(reads)
        self._takes: dict[str, tuple[IndexArray, IndexArray] | None] = {}  # by feature set name

    def gather(self, matrix: FloatMatrix, feature_set: FeatureSet) -> FloatMatrix:
        """``matrix`` (rows in ``feature_set``'s columns) as the model's inputs: its columns in its
        order, NaN where it reads nothing from ``feature_set``."""
        if feature_set.name not in self._takes:
            self._takes[feature_set.name] = self._take(feature_set)
        take = self._takes[feature_set.name]
        if take is None:
            return matrix
        src, dst = take
        if dst.size == len(self.feature_names):
            out: FloatMatrix = matrix[:, src]
            return out
        x = np.full((matrix.shape[0], len(self.feature_names)), np.nan)
        x[:, dst] = matrix[:, src]
        return x

    def _take(self, feature_set: FeatureSet) -> tuple[IndexArray, IndexArray] | None:
        """(columns of ``feature_set``, model positions) to copy; None when the columns are the model's."""
        position = {name: i for i, name in enumerate(feature_set.columns)}
        missing = sorted(self.reads.difference(position))
        if missing:
            raise ValueError(f"feature set {feature_set.name!r} lacks {', '.join(missing[:5])}")
        pairs = [(position[n], j) for j, n in enumerate(self.feature_names) if n in position]
        src = np.array([p[0] for p in pairs], dtype=np.intp)
        dst = np.array([p[1] for p in pairs], dtype=np.intp)
        if len(pairs) == len(self.feature_names) == len(position) and bool((src == dst).all()):
            return None
        return src, dst


class InputSets:
    """Per feature set, the subset that predictions compute (see the module docstring)."""

    def __init__(self, forget: Callable[[str], None]) -> None:
        self._forget = forget  # drops the cached rows of a feature set name no longer asked for
        self._reads: dict[str, set[str]] = {}
        self._sets: dict[str, FeatureSet] = {}
        self._lock = threading.Lock()

    def widen(self, feature_set: FeatureSet, reads: Iterable[str]) -> None:
        """A loaded model of ``feature_set`` reads ``reads``: make sure the subset computes them."""
        wanted = set(reads)
        with self._lock:
            have = self._reads.setdefault(feature_set.name, set())
            old = self._sets.get(feature_set.name)
            if old is not None and have.issuperset(wanted):
                return
            have.update(wanted)
            new = self._sets[feature_set.name] = feature_set.subset(have)
        if old is not None and old.name != new.name:
            self._forget(old.name)

    def get(self, feature_set: FeatureSet) -> FeatureSet:
        """The subset computed for ``feature_set`` (the whole set before any model widened it)."""
        return self._sets.get(feature_set.name, feature_set)
