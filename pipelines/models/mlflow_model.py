"""Registered versions are MLflow pyfunc models wrapping a Tradeforge regressor.

The model folder holds ``MLmodel`` (signature, input example, requirements) and, as its
artifact ``regressor``, the regressor's own files plus ``serving.json`` (what serving needs:
feature set, horizon, target scale, symbol, timeframe, device, metrics). MLflow tools load it as
a pyfunc; Tradeforge's serving loads the regressor directly, skipping pyfunc's per-call schema
enforcement on the hot path.
"""

import json
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SERVING_FILE", "ServingMeta", "TradeforgePyfunc", "read_meta", "save_pyfunc"]

SERVING_FILE = "serving.json"
_PINNED = ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "torch", "mlflow")


@dataclass
class ServingMeta:
    model_name: str
    kind: str
    symbol: str
    timeframe: str
    source: str
    feature_set: str
    feature_names: list[str]
    horizon: int
    scale: float  # std of the model's predictions on its training rows: scales the signal
    flat_threshold: float
    device: str
    context_rows: int
    target: str = "log_return"
    outputs: list[str] = field(default_factory=lambda: ["predicted_return"])
    metrics: dict[str, float] = field(default_factory=dict)
    data_range: dict[str, str] = field(default_factory=dict)
    seed: int = 42
    error_scale: float = 0.0  # validation RMSE: how far off predictions typically are (confidence)


def read_meta(regressor_dir: Path) -> ServingMeta:
    return ServingMeta(**json.loads((regressor_dir / SERVING_FILE).read_text()))


def _requirements() -> list[str]:
    reqs = []
    for dist in _PINNED:
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return reqs


try:
    import mlflow.pyfunc

    _Base: Any = mlflow.pyfunc.PythonModel
except ImportError:  # pragma: no cover - mlflow is a dependency
    _Base = object


class TradeforgePyfunc(_Base):  # type: ignore[misc]
    """pyfunc face of a regressor: DataFrame of features in, predicted returns out."""

    def load_context(self, context: Any) -> None:
        # Imported when MLflow loads the model: the kinds import LightGBM, XGBoost and torch, which
        # reading a model's metadata (this module's other use) never needs.
        from pipelines.models.kinds import load_model

        path = Path(context.artifacts["regressor"])
        self.meta = read_meta(path)
        self.model = load_model(path)

    def predict(
        self, context: object, model_input: pd.DataFrame, params: dict[str, str] | None = None
    ) -> pd.DataFrame:
        x = model_input[self.meta.feature_names].to_numpy(dtype=np.float64)
        pred = np.asarray(self.model.predict(x), dtype=np.float64)
        if pred.ndim == 1:
            pred = pred[:, None]
        return pd.DataFrame(pred, columns=self.meta.outputs)


def save_pyfunc(regressor_dir: Path, meta: ServingMeta, out_dir: Path, input_example: pd.DataFrame) -> Path:
    """Write the MLflow model folder for a saved regressor (``regressor_dir`` holds its files)."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    (regressor_dir / SERVING_FILE).write_text(json.dumps(asdict(meta), indent=2, default=float))
    output = pd.DataFrame(np.zeros((len(input_example), len(meta.outputs))), columns=meta.outputs)
    mlflow.pyfunc.save_model(
        path=str(out_dir),
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        artifacts={"regressor": str(regressor_dir)},
        signature=infer_signature(input_example, output),
        input_example=input_example,
        pip_requirements=_requirements(),
    )
    return out_dir
