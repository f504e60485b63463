"""The model interface every kind implements, and the names of the kinds.

A model maps a feature matrix (rows = bars, columns = the feature set's columns, in order) to
predicted forward log-returns: shape (n,) for single-target kinds, (n, 4 * n_steps) for
``multi_ohlc``, whose columns are ``{open,high,low,close}_t+{k}`` log-ratios to the current close.
Model code never logs to a tracker and never sees a Dagster context: training code passes data
in and reads results out.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["FloatMatrix", "ModelKind", "Regressor"]

FloatMatrix = npt.NDArray[np.float64]


class ModelKind(StrEnum):
    SIMPLE = "simple"
    RANDOM_FOREST = "random_forest"
    LIGHTGBM = "lightgbm"
    XGBOOST = "xgboost"
    LSTM = "lstm"
    ENSEMBLE = "ensemble"
    MULTI_OHLC = "multi_ohlc"


@runtime_checkable
class Regressor(Protocol):
    """A trainable, persistable predictor of forward returns.

    ``device`` is where it trained ("cpu" or "cuda"); ``params`` the validated hyperparameters
    (defaults filled in). ``predict`` accepts any number of rows, including one. Sequence models
    (lstm) need the preceding ``context_rows - 1`` rows too: ``predict`` returns NaN for rows
    without enough history, and callers pass at least ``context_rows`` rows for a prediction.
    """

    @property
    def kind(self) -> ModelKind: ...

    params: dict[str, Any]
    device: str
    feature_names: list[str]
    context_rows: int

    def fit(
        self,
        x: FloatMatrix,
        y: FloatMatrix,
        x_val: FloatMatrix | None = None,
        y_val: FloatMatrix | None = None,
    ) -> None: ...

    def predict(self, x: FloatMatrix) -> FloatMatrix: ...

    def feature_importance(self) -> dict[str, float] | None: ...

    def save(self, path: Path) -> None: ...
