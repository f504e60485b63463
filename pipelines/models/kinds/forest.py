"""``random_forest``: scikit-learn RandomForestRegressor, trained on every core (n_jobs=-1).

scikit-learn's parallel ``predict`` adds the trees' outputs in whatever order its threads finish,
so the same input can differ in the last bit between calls. Here each tree predicts into its own
row and the rows are averaged in a fixed order: deterministic, and still parallel for big batches.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.kinds._common import BaseRegressor, MedianImputer, NativePredict, as_matrix, normalized
from pipelines.models.kinds._skops import load_estimator, save_estimator

__all__ = ["RandomForestRegressorModel"]

_FILE = "forest.skops"
_PARALLEL_ROWS = 2048  # below this a thread pool costs more than it saves


class RandomForestRegressorModel(BaseRegressor):
    kind = ModelKind.RANDOM_FOREST
    libraries = ("sklearn", "skops")

    def __init__(self, params: dict[str, Any], feature_names: list[str], device: str) -> None:
        super().__init__(params, feature_names, "cpu")  # scikit-learn has no GPU path
        self.forest: Any = None
        self.imputer = MedianImputer(np.zeros(len(self.feature_names)))

    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None:
        from sklearn.ensemble import RandomForestRegressor

        p = self.params
        self.imputer = MedianImputer.fit(x)
        self.forest = RandomForestRegressor(
            n_estimators=p["n_estimators"],
            max_depth=p["max_depth"],
            min_samples_leaf=p["min_samples_leaf"],
            max_features=p["max_features"],
            random_state=p["random_state"],
            n_jobs=-1,
        )
        self.forest.fit(self.imputer(x), y)

    def predict(self, x: FloatMatrix) -> FloatMatrix:
        self._require_fitted()
        x32 = np.ascontiguousarray(self.imputer(as_matrix(x, len(self.feature_names))), dtype=np.float32)
        trees = self.forest.estimators_
        out = np.empty((len(trees), x32.shape[0]))

        def one(i: int) -> None:
            out[i] = trees[i].predict(x32, check_input=False)

        if x32.shape[0] < _PARALLEL_ROWS:
            for i in range(len(trees)):
                one(i)
        else:
            with ThreadPoolExecutor() as pool:
                list(pool.map(one, range(len(trees))))
        result: FloatMatrix = out.mean(axis=0)
        return result

    def feature_importance(self) -> dict[str, float] | None:
        """Mean decrease in impurity (scikit-learn's ``feature_importances_``)."""
        if self.forest is None:
            return None
        imp = np.asarray(self.forest.feature_importances_, dtype=np.float64)
        return normalized(dict(zip(self.feature_names, imp.tolist(), strict=True)))

    def native_predict(self) -> NativePredict | None:
        return self.forest.predict if self.forest is not None else None

    def _save_files(self, path: Path) -> dict[str, Any]:
        save_estimator(self.forest, path / _FILE)
        return {"file": _FILE, "medians": self.imputer.to_list()}

    @classmethod
    def _from_saved(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> RandomForestRegressorModel:
        model = cls(meta["params"], meta["feature_names"], meta["device"])
        model.forest = load_estimator(path / meta["state"]["file"])
        model.imputer = MedianImputer(meta["state"]["medians"])
        return model
