"""``ensemble``: a weighted average of other registered models' predictions.

Members are already-trained Regressors, referenced by (model name, version, weight); the weights
are normalized to sum to 1. The ensemble's feature list may be wider than a member's: each member
reads its own columns, by name. ``fit`` trains nothing; it checks that the members fit together.
``save`` stores only the references and weights, and loading resolves them again through a
``member_loader(name, version)`` (the registry adapter). A version of "champion" follows the alias,
so pin numbers when the ensemble must not change underneath.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InvalidRequestError
from pipelines.models.base import FloatMatrix, ModelKind, Regressor
from pipelines.models.kinds._common import BaseRegressor, as_matrix, normalized

__all__ = ["EnsembleRegressor", "Member", "MemberLoader"]

Member = tuple[str, str, float, Regressor]
MemberLoader = Callable[[str, str], Regressor]


def _check_weight(name: str, weight: float) -> float:
    w = float(weight)
    if not math.isfinite(w) or w <= 0.0:
        raise InvalidRequestError(f"ensemble member {name!r} needs a finite weight > 0, got {weight!r}")
    return w


class EnsembleRegressor(BaseRegressor):
    kind = ModelKind.ENSEMBLE

    def __init__(
        self,
        members: Sequence[Member],
        feature_names: Sequence[str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        if not members:
            raise InvalidRequestError("an ensemble needs at least one member")
        for name, _, _, model in members:
            if not isinstance(model, Regressor):
                raise InvalidRequestError(f"ensemble member {name!r} is not a Regressor")
            if getattr(model, "n_outputs", 1) != 1 or model.kind is ModelKind.MULTI_OHLC:
                raise InvalidRequestError(
                    f"ensemble member {name!r} is multi-output; members must predict one return"
                )
        weights = np.array([_check_weight(name, w) for name, _, w, _ in members])
        self.weights = weights / weights.sum()
        self.members = [
            (str(n), str(v), float(w), m) for (n, v, _, m), w in zip(members, self.weights, strict=True)
        ]
        if feature_names is None:
            feature_names = list(dict.fromkeys(f for *_, m in members for f in m.feature_names))
        if params is None:
            params = {
                "members": [{"model_name": n, "version": v, "weight": w} for n, v, w, _ in self.members],
                "random_state": 42,
            }
        super().__init__(params, feature_names, "cpu")
        self.context_rows = max(m.context_rows for *_, m in self.members)
        position = {f: i for i, f in enumerate(self.feature_names)}
        self._columns: list[np.ndarray | None] = []
        for name, version, _, model in self.members:
            missing = [f for f in model.feature_names if f not in position]
            if missing:
                raise InvalidRequestError(
                    f"ensemble member {name!r} version {version} needs features the ensemble lacks: "
                    f"{missing[:10]}"
                )
            cols = np.array([position[f] for f in model.feature_names], dtype=np.intp)
            same = len(cols) == len(self.feature_names) and bool((cols == np.arange(len(cols))).all())
            self._columns.append(None if same else cols)
        self.fitted = True

    def _fit(
        self, x: FloatMatrix, y: FloatMatrix, x_val: FloatMatrix | None, y_val: FloatMatrix | None
    ) -> None:
        """Nothing to train: ``fit`` has already checked the matrix has the ensemble's columns."""
        self.fit_info = {"members": len(self.members)}

    def predict(self, x: FloatMatrix) -> FloatMatrix:
        x = as_matrix(x, len(self.feature_names))
        out = np.zeros(x.shape[0])
        for (_, _, weight, model), cols in zip(self.members, self._columns, strict=True):
            out += weight * np.asarray(model.predict(x if cols is None else x[:, cols]), dtype=np.float64)
        return out

    def feature_importance(self) -> dict[str, float] | None:
        """The weighted average of the members' (normalized) importances, over members that have them."""
        total = dict.fromkeys(self.feature_names, 0.0)
        found = False
        for _, _, weight, model in self.members:
            imp = model.feature_importance()
            if imp:
                found = True
                for f, v in normalized(imp).items():
                    total[f] += weight * v
        return normalized(total) if found else None

    def _save_files(self, path: Path) -> dict[str, Any]:
        return {"members": [{"model_name": n, "version": v, "weight": w} for n, v, w, _ in self.members]}

    @classmethod
    def _from_saved(
        cls, path: Path, meta: dict[str, Any], member_loader: MemberLoader | None = None, **kwargs: Any
    ) -> EnsembleRegressor:
        if member_loader is None:
            raise InvalidRequestError("loading an ensemble needs a member_loader(model_name, version)")
        members = [
            (m["model_name"], m["version"], m["weight"], member_loader(m["model_name"], m["version"]))
            for m in meta["state"]["members"]
        ]
        return cls(members, meta["feature_names"], meta["params"])
