"""``lightgbm``: gradient-boosted trees (LightGBM), early-stopped on ``x_val`` when given (a training
run passes its early-stopping slice there, never the validation rows it scores on).

LightGBM trains on the GPU only when the model's device is cuda *and* the installed build has a GPU
tree learner (:func:`pipelines.models.device.lightgbm_device`); otherwise it trains on the CPU and
the model records ``device="cpu"`` with a note in ``fit_info``. The fitted booster is kept as the
text model LightGBM saves (truncated at the best iteration), so a loaded model predicts exactly
what the trained one did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.device import lightgbm_device
from pipelines.models.kinds._common import BaseRegressor, NativePredict, as_matrix, normalized

__all__ = ["LightGBMRegressor", "fit_booster", "lightgbm_settings"]

_FILE = "booster.txt"
# Up to this many rows a prediction runs on the calling thread: an OpenMP team costs more than it
# saves (on a serving thread 100 us against 20 us for one row), and its threads spin afterwards.
_SERIAL_ROWS = 32


def lightgbm_settings(params: dict[str, Any], device: str) -> tuple[dict[str, Any], str, str | None]:
    """``lightgbm.train`` parameters for ``params``, the device it will really use, and a note."""
    settings: dict[str, Any] = {
        "objective": "regression",
        "num_iterations": params["n_estimators"],
        "learning_rate": params["learning_rate"],
        "num_leaves": params["num_leaves"],
        "max_depth": params["max_depth"],
        "min_data_in_leaf": params["min_child_samples"],
        "bagging_fraction": params["subsample"],
        "bagging_freq": 1 if params["subsample"] < 1.0 else 0,  # LightGBM bags only with a frequency
        "feature_fraction": params["colsample_bytree"],
        "lambda_l1": params["reg_alpha"],
        "lambda_l2": params["reg_lambda"],
        "seed": params["random_state"],
        "verbosity": -1,
    }
    if device != "cuda":
        return settings, "cpu", None
    device_type = lightgbm_device()
    if device_type == "cpu":
        return settings, "cpu", "this LightGBM build has no GPU tree learner; trained on the CPU"
    settings["device_type"] = device_type
    return settings, "cuda", None


def fit_booster(
    settings: dict[str, Any],
    early_stopping_rounds: int,
    x: FloatMatrix,
    y: FloatMatrix,
    x_val: FloatMatrix | None,
    y_val: FloatMatrix | None,
) -> tuple[Any, int]:
    """Train one booster; return it (as saved and reloaded) and the number of trees kept."""
    import lightgbm as lgb

    train = lgb.Dataset(x, y, free_raw_data=True)
    callbacks: list[Any] = []
    valid_sets: list[Any] = []
    if x_val is not None and y_val is not None and early_stopping_rounds > 0:
        valid_sets.append(lgb.Dataset(x_val, y_val, reference=train))
        callbacks.append(lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False))
    booster = lgb.train(dict(settings), train, valid_sets=valid_sets, callbacks=callbacks)
    # Round-trip through the text format (cut at the best iteration) so the in-memory model is
    # exactly the one that gets saved.
    booster = lgb.Booster(model_str=booster.model_to_string())
    return booster, int(booster.num_trees())


class LightGBMRegressor(BaseRegressor):
    kind = ModelKind.LIGHTGBM
    libraries = ("lightgbm",)

    def __init__(self, params: dict[str, Any], feature_names: list[str], device: str) -> None:
        super().__init__(params, feature_names, device)
        self.booster: Any = None

    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None:
        settings, self.device, note = lightgbm_settings(self.params, self.device)
        self.booster, trees = fit_booster(settings, self.params["early_stopping_rounds"], x, y, x_val, y_val)
        self.fit_info = {"trees": trees, "lightgbm_device_type": settings.get("device_type", "cpu")}
        if x_val is not None and self.params["early_stopping_rounds"] > 0:
            self.fit_info["best_iteration"] = trees  # the booster is cut at its best round
        if note:
            self.fit_info["device_note"] = note

    def predict(self, x: FloatMatrix) -> FloatMatrix:
        self._require_fitted()
        x = as_matrix(x, len(self.feature_names))
        threads = {"num_threads": 1} if x.shape[0] <= _SERIAL_ROWS else {}
        out: FloatMatrix = self.booster.predict(x, **threads)
        return out

    def feature_importance(self) -> dict[str, float] | None:
        """Total split gain per feature."""
        if self.booster is None:
            return None
        gain = np.asarray(self.booster.feature_importance(importance_type="gain"), dtype=np.float64)
        return normalized(dict(zip(self.feature_names, gain.tolist(), strict=True)))

    def features_read(self) -> list[str] | None:
        """The features some split uses (see ``BaseRegressor.features_read``)."""
        if self.booster is None:
            return None
        splits = np.asarray(self.booster.feature_importance(importance_type="split"))
        return [name for name, n in zip(self.feature_names, splits.tolist(), strict=True) if n > 0]

    def native_predict(self) -> NativePredict | None:
        return self.booster.predict if self.booster is not None else None

    def _save_files(self, path: Path) -> dict[str, Any]:
        self.booster.save_model(str(path / _FILE))
        return {"file": _FILE}

    @classmethod
    def _from_saved(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> LightGBMRegressor:
        import lightgbm as lgb

        model = cls(meta["params"], meta["feature_names"], meta["device"])
        model.booster = lgb.Booster(model_file=str(path / meta["state"]["file"]))
        return model
