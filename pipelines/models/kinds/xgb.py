"""``xgboost``: gradient-boosted trees (XGBoost ``hist``), on CUDA when the device is cuda.

Early stopping watches ``x_val`` when given (a training run passes its early-stopping slice, never
its validation rows); the booster is then cut at the best iteration, so every later prediction (and
the saved ``.ubj`` file) uses exactly the trees that won. Prediction calls
``Booster.inplace_predict`` on the numpy input directly (no DMatrix, no scikit-learn wrapper); a
CUDA-trained booster is switched to predict on the CPU, where serving inputs live, which avoids a
host-to-device copy per call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.kinds._common import BaseRegressor, NativePredict, as_matrix, normalized

__all__ = ["XGBoostRegressor"]

_FILE = "booster.ubj"
# Up to this many rows a prediction runs on a single-threaded copy of the booster: an OpenMP team
# costs more than it saves (on a serving thread 380 us against 120 us for one row).
_SERIAL_ROWS = 256


class XGBoostRegressor(BaseRegressor):
    kind = ModelKind.XGBOOST
    libraries = ("xgboost",)

    def __init__(self, params: dict[str, Any], feature_names: list[str], device: str) -> None:
        super().__init__(params, feature_names, device)
        self.booster: Any = None
        self._serial: Any = None  # ``booster`` with nthread=1, made on the first small prediction

    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None:
        import xgboost as xgb

        p = self.params
        has_val = x_val is not None and y_val is not None
        model = xgb.XGBRegressor(
            n_estimators=p["n_estimators"],
            learning_rate=p["learning_rate"],
            max_depth=p["max_depth"],
            min_child_weight=p["min_child_weight"],
            subsample=p["subsample"],
            colsample_bytree=p["colsample_bytree"],
            reg_alpha=p["reg_alpha"],
            reg_lambda=p["reg_lambda"],
            random_state=p["random_state"],
            tree_method="hist",
            device=self.device,
            early_stopping_rounds=p["early_stopping_rounds"]
            if has_val and p["early_stopping_rounds"] > 0
            else None,
        )
        if has_val:
            model.fit(x, y, eval_set=[(x_val, y_val)], verbose=False)
        else:
            model.fit(x, y)
        booster = model.get_booster()
        used = json.loads(booster.save_config())["learner"]["generic_param"].get("device", "cpu")
        trained_on = "cuda" if str(used).startswith("cuda") else "cpu"
        best = getattr(model, "best_iteration", None) if has_val and p["early_stopping_rounds"] > 0 else None
        if best is not None:
            booster = booster[: int(best) + 1]
        # Round-trip through the saved format so the in-memory model is exactly the one that gets saved.
        self.booster = xgb.Booster(model_file=booster.save_raw(raw_format="ubj"))
        self.booster.set_param({"device": "cpu"})
        self._serial = None
        self.fit_info = {"trees": int(self.booster.num_boosted_rounds())}
        if best is not None:
            self.fit_info["best_iteration"] = int(best) + 1  # rounds kept, as LightGBM counts them
        if trained_on != self.device:
            self.fit_info["device_note"] = (
                f"XGBoost found no usable {self.device} device; trained on {trained_on}"
            )
        self.device = trained_on

    def predict(self, x: FloatMatrix) -> FloatMatrix:
        self._require_fitted()
        x = as_matrix(x, len(self.feature_names))
        booster = self.booster
        if x.shape[0] <= _SERIAL_ROWS:
            booster = self._serial
            if booster is None:  # a race makes two equal copies; either serves
                booster = self.booster.copy()
                booster.set_param({"nthread": 1})
                self._serial = booster
        out: FloatMatrix = booster.inplace_predict(x).astype(np.float64)
        return out

    def feature_importance(self) -> dict[str, float] | None:
        """Total split gain per feature (features never split on get 0)."""
        if self.booster is None:
            return None
        score = self.booster.get_score(importance_type="total_gain")
        gains = {name: float(score.get(f"f{i}", 0.0)) for i, name in enumerate(self.feature_names)}
        return normalized(gains)

    def features_read(self) -> list[str] | None:
        """The features some split uses (see ``BaseRegressor.features_read``)."""
        if self.booster is None:
            return None
        used = self.booster.get_score(importance_type="weight")  # keys f0, f1, ... of split features
        return [name for i, name in enumerate(self.feature_names) if f"f{i}" in used]

    def native_predict(self) -> NativePredict | None:
        return self.booster.inplace_predict if self.booster is not None else None

    def _save_files(self, path: Path) -> dict[str, Any]:
        self.booster.save_model(str(path / _FILE))
        return {"file": _FILE}

    @classmethod
    def _from_saved(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> XGBoostRegressor:
        import xgboost as xgb

        model = cls(meta["params"], meta["feature_names"], meta["device"])
        model.booster = xgb.Booster(model_file=str(path / meta["state"]["file"]))
        model.booster.set_param({"device": "cpu"})
        return model
