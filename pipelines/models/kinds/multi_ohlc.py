"""``multi_ohlc``: forecasts open/high/low/close for each of the next ``n_steps`` bars.

Output columns are step-major: ``open_t+1, high_t+1, low_t+1, close_t+1, open_t+2, ...`` (see
:func:`ohlc_output_names`), each ``log(price[t+k] / close[t])``.

How: the 4*n_steps targets of one row are a price path and strongly correlated, so instead of one
booster per column (1,200 boosters for 300 steps) the targets are standardized, rotated onto their
principal components (fitted on the training rows), and one LightGBM booster is trained per leading
component (``target_components``, capped at 4*n_steps; at the cap this is exact, not a reduction).
Predictions are rotated back. Keeping the top components drops the least-variance directions, which
at these horizons are mostly noise; the kept ones carry the path's level, slope and range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.kinds._common import BaseRegressor, as_matrix, normalized
from pipelines.models.kinds.lgbm import fit_booster, lightgbm_settings

__all__ = ["MultiOHLCRegressor", "ohlc_output_names"]

FIELDS = ("open", "high", "low", "close")


def ohlc_output_names(n_steps: int) -> list[str]:
    return [f"{field}_t+{k}" for k in range(1, n_steps + 1) for field in FIELDS]


class MultiOHLCRegressor(BaseRegressor):
    kind = ModelKind.MULTI_OHLC
    libraries = ("lightgbm",)

    def __init__(self, params: dict[str, Any], feature_names: list[str], device: str) -> None:
        super().__init__(params, feature_names, device)
        self.n_steps = int(params["n_steps"])
        self.boosters: list[Any] = []
        self.y_mean = np.zeros(self.n_outputs)
        self.y_std = np.ones(self.n_outputs)
        self.components = np.zeros((0, self.n_outputs))  # (k, outputs): rows are principal axes
        self.explained = np.zeros(0)

    @property
    def n_outputs(self) -> int:
        return 4 * int(self.params["n_steps"])

    @property
    def output_names(self) -> list[str]:
        return ohlc_output_names(self.n_steps)

    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None:
        self.y_mean = y.mean(axis=0)
        std = y.std(axis=0)
        self.y_std = np.where(std > 1e-12, std, 1.0)
        z = (y - self.y_mean) / self.y_std
        # Principal axes from the (outputs x outputs) covariance: no (rows x outputs) SVD factor to hold.
        var, vecs = np.linalg.eigh(z.T @ z / len(z))
        order = np.argsort(var)[::-1]
        k = min(int(self.params["target_components"]), self.n_outputs)
        self.components = vecs[:, order[:k]].T
        var = np.clip(var[order], 0.0, None)
        self.explained = var[:k] / var.sum() if var.sum() > 0 else np.zeros(k)
        scores = z @ self.components.T
        val_scores = None
        if x_val is not None and y_val is not None:
            val_scores = ((y_val - self.y_mean) / self.y_std) @ self.components.T
        settings, self.device, note = lightgbm_settings(self.params, self.device)
        self.boosters = []
        trees = []
        for j in range(k):
            booster, n = fit_booster(
                settings,
                self.params["early_stopping_rounds"],
                x,
                scores[:, j],
                x_val,
                None if val_scores is None else val_scores[:, j],
            )
            self.boosters.append(booster)
            trees.append(n)
        self.fit_info = {
            "components": k,
            "explained_variance": float(self.explained.sum()),
            "trees": trees,
            "lightgbm_device_type": settings.get("device_type", "cpu"),
        }
        if val_scores is not None and self.params["early_stopping_rounds"] > 0:
            self.fit_info["best_iteration"] = trees  # per component: each booster is cut at its best round
        if note:
            self.fit_info["device_note"] = note

    def predict(self, x: FloatMatrix) -> FloatMatrix:
        self._require_fitted()
        x = as_matrix(x, len(self.feature_names))
        scores = np.empty((x.shape[0], len(self.boosters)))
        for j, booster in enumerate(self.boosters):
            scores[:, j] = booster.predict(x)
        out: FloatMatrix = (scores @ self.components) * self.y_std + self.y_mean
        return out

    def feature_importance(self) -> dict[str, float] | None:
        """Split gain per feature, each component's booster weighted by the variance it explains."""
        if not self.boosters:
            return None
        total = np.zeros(len(self.feature_names))
        for booster, share in zip(self.boosters, self.explained, strict=True):
            gain = np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
            total += share * (gain / gain.sum() if gain.sum() > 0 else gain)
        return normalized(dict(zip(self.feature_names, total.tolist(), strict=True)))

    def _save_files(self, path: Path) -> dict[str, Any]:
        files = []
        for j, booster in enumerate(self.boosters):
            name = f"component_{j}.txt"
            booster.save_model(str(path / name))
            files.append(name)
        return {
            "files": files,
            "y_mean": self.y_mean.tolist(),
            "y_std": self.y_std.tolist(),
            "components": self.components.tolist(),
            "explained": self.explained.tolist(),
            "output_names": self.output_names,
        }

    @classmethod
    def _from_saved(cls, path: Path, meta: dict[str, Any], **kwargs: Any) -> MultiOHLCRegressor:
        import lightgbm as lgb

        state = meta["state"]
        model = cls(meta["params"], meta["feature_names"], meta["device"])
        model.boosters = [lgb.Booster(model_file=str(path / f)) for f in state["files"]]
        model.y_mean = np.asarray(state["y_mean"], dtype=np.float64)
        model.y_std = np.asarray(state["y_std"], dtype=np.float64)
        model.components = np.asarray(state["components"], dtype=np.float64)
        model.explained = np.asarray(state["explained"], dtype=np.float64)
        return model
