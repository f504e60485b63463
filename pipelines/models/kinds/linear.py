"""``simple``: ridge regression on standardized features (scikit-learn StandardScaler + Ridge).

The fitted pipeline is saved with skops (a safe, non-pickle format). Prediction does not go
through the pipeline: the scaler is folded into the coefficients (``x @ w + b``), which gives the
same numbers without scikit-learn's per-call input validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.kinds._common import BaseRegressor, MedianImputer, NativePredict, as_matrix, normalized
from pipelines.models.kinds._skops import load_estimator, save_estimator

__all__ = ["SimpleRegressor"]

_FILE = "pipeline.skops"


class SimpleRegressor(BaseRegressor):
    kind = ModelKind.SIMPLE
    libraries = ("sklearn", "skops")

    def __init__(self, params: dict[str, Any], feature_names: list[str], device: str) -> None:
        super().__init__(params, feature_names, "cpu")  # scikit-learn has no GPU path
        self.pipeline: Any = None
        self.imputer = MedianImputer(np.zeros(len(self.feature_names)))
        self._w = np.zeros(len(self.feature_names))
        self._b = 0.0

    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.imputer = MedianImputer.fit(x)
        self.pipeline = make_pipeline(StandardScaler(), Ridge(alpha=self.params["alpha"]))
        self.pipeline.fit(self.imputer(x), y)
        self._fold()

    def _fold(self) -> None:
        scaler, ridge = self.pipeline[0], self.pipeline[-1]
        coef = np.asarray(ridge.coef_, dtype=np.float64)
        self._w = coef / scaler.scale_
        self._b = float(ridge.intercept_) - float(np.dot(scaler.mean_ / scaler.scale_, coef))

    def predict(self, x: FloatMatrix) -> FloatMatrix:
        self._require_fitted()
        out: FloatMatrix = self.imputer(as_matrix(x, len(self.feature_names))) @ self._w + self._b
        return out

    def feature_importance(self) -> dict[str, float] | None:
        """|coefficient| on the standardized features: the change in prediction per 1 std of each."""
        if self.pipeline is None:
            return None
        coef = np.abs(np.asarray(self.pipeline[-1].coef_, dtype=np.float64))
        return normalized(dict(zip(self.feature_names, coef.tolist(), strict=True)))

    def native_predict(self) -> NativePredict | None:
        return self.pipeline.predict if self.pipeline is not None else None

    def _save_files(self, path: Path) -> dict[str, Any]:
        save_estimator(self.pipeline, path / _FILE)
        return {"file": _FILE, "medians": self.imputer.to_list()}

    @classmethod
    def _from_saved(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> SimpleRegressor:
        model = cls(meta["params"], meta["feature_names"], meta["device"])
        model.pipeline = load_estimator(path / meta["state"]["file"])
        model.imputer = MedianImputer(meta["state"]["medians"])
        model._fold()
        return model
