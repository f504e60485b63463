"""What every kind shares: input checks, the saved metadata file, target statistics, imputation.

A saved model is a directory: ``model.json`` (kind, params, device, feature names, the kind's small
state such as scaler statistics, library versions) next to the library's own model file. JSON
floats round-trip exactly in Python, so statistics stored there restore bit-identical predictions.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from pipelines.errors import InvalidRequestError
from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.device import DEVICES

__all__ = [
    "FORMAT_VERSION",
    "META_FILE",
    "BaseRegressor",
    "MedianImputer",
    "NativePredict",
    "as_matrix",
    "library_versions",
    "normalized",
    "read_meta",
]

META_FILE = "model.json"
FORMAT_VERSION = 1
NativePredict = Callable[[FloatMatrix], Any]


def as_matrix(x: Any, n_features: int, what: str = "x") -> FloatMatrix:
    """``x`` as a float64 (n, n_features) array: no copy when it already is one (the hot path)."""
    arr: FloatMatrix = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise InvalidRequestError(f"{what} must have shape (rows, {n_features}), got {arr.shape}")
    return arr


def normalized(values: Mapping[str, float]) -> dict[str, float]:
    """Importances scaled to sum to 1 (comparable across kinds); all zeros stay zeros."""
    total = float(sum(values.values()))
    if not math.isfinite(total) or total <= 0.0:
        return {k: 0.0 for k in values}
    return {k: float(v) / total for k, v in values.items()}


def library_versions(*names: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        with_version = {"sklearn": "scikit-learn"}.get(name, name)
        try:
            out[name] = importlib_metadata.version(with_version)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def read_meta(path: Path) -> dict[str, Any]:
    file = Path(path) / META_FILE
    if not file.is_file():
        raise InvalidRequestError(f"{path} is not a saved model: {META_FILE} is missing")
    meta: dict[str, Any] = json.loads(file.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise InvalidRequestError(f"{file}: unsupported model format {meta.get('format_version')!r}")
    return meta


class MedianImputer:
    """Replaces NaN by the training medians, for learners that cannot take NaN themselves.

    The NaN test is one reduction over ``x`` (no temporary array) so clean inputs pay almost nothing.
    """

    def __init__(self, medians: npt.ArrayLike) -> None:
        self.medians = np.asarray(medians, dtype=np.float64)

    @classmethod
    def fit(cls, x: FloatMatrix) -> MedianImputer:
        finite = np.where(np.isfinite(x), x, np.nan)
        with np.errstate(all="ignore"):
            cols = [finite[:, j][~np.isnan(finite[:, j])] for j in range(x.shape[1])]
        return cls([float(np.median(c)) if c.size else 0.0 for c in cols])

    def __call__(self, x: FloatMatrix) -> FloatMatrix:
        if math.isfinite(float(np.add.reduce(x, axis=None))):
            return x
        return np.where(np.isfinite(x), x, self.medians)

    def to_list(self) -> list[float]:
        return [float(v) for v in self.medians]


class BaseRegressor(ABC):
    """Common plumbing of the kinds; subclasses implement ``_fit``, ``predict``, ``_save_files``,
    ``_from_saved`` and optionally ``feature_importance`` and ``native_predict``.

    Besides the ``Regressor`` attributes a fitted model carries ``target_scale`` (std of the training
    target: the ``scale`` of :func:`pipelines.models.signals.derive_signals`), ``error_scale`` (RMSE on
    the validation set when one was given, else None) and ``fit_info`` (best iteration, epochs, ...).
    """

    kind: ClassVar[ModelKind]
    libraries: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: dict[str, Any], feature_names: Sequence[str], device: str) -> None:
        if device not in DEVICES:
            raise InvalidRequestError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        names = list(feature_names)
        if not names or len(set(names)) != len(names):
            raise InvalidRequestError("feature_names must be a non-empty list of distinct names")
        self.params: dict[str, Any] = dict(params)
        self.feature_names: list[str] = names
        self.device: str = device
        self.context_rows: int = 1
        self.target_scale: float | None = None
        self.error_scale: float | None = None
        self.fit_info: dict[str, Any] = {}
        self.fitted = False

    # -- the Regressor protocol -------------------------------------------------------------------
    def fit(
        self,
        x: FloatMatrix,
        y: FloatMatrix,
        x_val: FloatMatrix | None = None,
        y_val: FloatMatrix | None = None,
    ) -> None:
        x, y = self._check_xy(x, y, "")
        if (x_val is None) != (y_val is None):
            raise InvalidRequestError("give both x_val and y_val, or neither")
        if x_val is not None and y_val is not None:
            x_val, y_val = self._check_xy(x_val, y_val, "_val")
        self._fit(x, y, x_val, y_val)
        self.fitted = True
        self.target_scale = _target_std(y)
        if x_val is not None and y_val is not None:
            self.error_scale = _rmse(y_val, self.predict(x_val))

    @abstractmethod
    def predict(self, x: FloatMatrix) -> FloatMatrix: ...

    def feature_importance(self) -> dict[str, float] | None:
        return None

    def features_read(self) -> list[str] | None:
        """The features a prediction can depend on, in ``feature_names`` order; None: all of them.

        Tree ensembles report the features some split uses: the others never change a prediction,
        so serving need not compute them (it passes NaN there).
        """
        return None

    def native_predict(self) -> NativePredict | None:
        """The library's own predict on the fitted native model (for overhead benchmarks), if any."""
        return None

    def save(self, path: Path) -> None:
        if not self.fitted:
            raise InvalidRequestError(f"cannot save an unfitted {self.kind.value} model")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = self._save_files(path)
        meta = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind.value,
            "params": self.params,
            "device": self.device,
            "feature_names": self.feature_names,
            "context_rows": self.context_rows,
            "target_scale": self.target_scale,
            "error_scale": self.error_scale,
            "fit_info": self.fit_info,
            "state": state,
            "libraries": library_versions(*self.libraries),
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=1, allow_nan=True))

    @classmethod
    def load(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> BaseRegressor:
        model = cls._from_saved(Path(path), meta, **kwargs)
        model.context_rows = int(meta["context_rows"])
        model.target_scale = meta.get("target_scale")
        model.error_scale = meta.get("error_scale")
        model.fit_info = dict(meta.get("fit_info") or {})
        model.fitted = True
        return model

    # -- for subclasses ---------------------------------------------------------------------------
    @abstractmethod
    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None: ...

    @abstractmethod
    def _save_files(self, path: Path) -> dict[str, Any]:
        """Write the native model file(s) under ``path``; return the JSON-able state to keep."""

    @classmethod
    @abstractmethod
    def _from_saved(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> BaseRegressor: ...

    @property
    def n_outputs(self) -> int:
        return 1

    def _check_xy(self, x: FloatMatrix, y: FloatMatrix, suffix: str) -> tuple[FloatMatrix, FloatMatrix]:
        x = as_matrix(x, len(self.feature_names), "x" + suffix)
        y = np.asarray(y, dtype=np.float64)
        want = (x.shape[0],) if self.n_outputs == 1 else (x.shape[0], self.n_outputs)
        if y.ndim == 2 and self.n_outputs == 1 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != want:
            raise InvalidRequestError(f"y{suffix} must have shape {want}, got {y.shape}")
        if x.shape[0] < max(2, self.context_rows):
            raise InvalidRequestError(
                f"x{suffix} has {x.shape[0]} rows; at least {max(2, self.context_rows)} needed"
            )
        if not np.isfinite(y).all():
            raise InvalidRequestError(f"y{suffix} contains NaN or infinite targets; drop those rows first")
        return x, y

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise InvalidRequestError(f"the {self.kind.value} model is not fitted")


def _target_std(y: FloatMatrix) -> float:
    """Std of the target; of the last column for multi-output kinds (the furthest close)."""
    col = y if y.ndim == 1 else y[:, -1]
    return float(np.std(col))


def _rmse(y: FloatMatrix, pred: FloatMatrix) -> float | None:
    a, b = (y, pred) if y.ndim == 1 else (y[:, -1], pred[:, -1])
    ok = ~np.isnan(b)
    return float(np.sqrt(np.mean((a[ok] - b[ok]) ** 2))) if ok.any() else None
