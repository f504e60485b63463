"""Registered training-platform models are MLflow pyfunc models wrapping a ``Predictor``.

The model folder holds ``MLmodel`` (signature, input example, requirements) and, as its artifact
``predictor``, the predictor's own files (``Predictor.save``: its library's format, no pickle) plus
``learning.json`` (what predictions need: model type, task, labels, feature names, input shape).
MLflow tools load it as a pyfunc; the API loads the predictor directly (``load_learned``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.learning.base import Predictor, Task
from pipelines.models.mlflow_model import _requirements

__all__ = ["META_FILE", "LearnedMeta", "LearningPyfunc", "find_predictor_dir", "read_meta", "save_pyfunc"]

META_FILE = "learning.json"


@dataclass(frozen=True)
class LearnedMeta:
    model_type: str
    task: Task
    feature_names: list[str]
    input_shape: list[int]
    classes: list[str] = field(default_factory=list)
    spec: dict[str, Any] | None = None  # how tabular inputs are encoded (``FeatureSpec.as_dict``)
    sequence_length: int | None = None  # sequence models: rows per input window


def read_meta(predictor_dir: Path) -> LearnedMeta:
    return LearnedMeta(**json.loads((predictor_dir / META_FILE).read_text()))


def find_predictor_dir(model_dir: Path) -> Path:
    """The predictor's folder inside a downloaded model folder (the one holding ``learning.json``)."""
    found = sorted(model_dir.rglob(META_FILE))
    if not found:
        raise FileNotFoundError(f"no {META_FILE} under the model folder")
    return found[0].parent


def _load(predictor_dir: Path) -> tuple[LearnedMeta, Predictor]:
    from pipelines.learning.registry import load_predictor

    meta = read_meta(predictor_dir)
    return meta, load_predictor(meta.model_type, predictor_dir)


try:
    import mlflow.pyfunc

    _Base: Any = mlflow.pyfunc.PythonModel
except ImportError:  # pragma: no cover - mlflow is a dependency
    _Base = object


class LearningPyfunc(_Base):  # type: ignore[misc]
    """pyfunc face of a predictor: rows (or images) in; class and confidence, or value, out."""

    def load_context(self, context: Any) -> None:
        self.meta, self.predictor = _load(Path(context.artifacts["predictor"]))

    def predict(
        self, context: object, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Tabular models take a frame of their feature columns; image and sequence models arrays."""
        x: Any = model_input
        if isinstance(x, pd.DataFrame):
            x = x[self.meta.feature_names].to_numpy()
        out = np.asarray(self.predictor.predict_proba(np.asarray(x, dtype=np.float32)))
        if self.meta.task == "regression":
            return pd.DataFrame({"value": out.astype(np.float64)})
        best = out.argmax(axis=1)
        labels = np.asarray(self.meta.classes, dtype=object)[best]
        return pd.DataFrame({"class": labels, "confidence": out[np.arange(len(out)), best]})


def save_pyfunc(predictor: Predictor, meta: LearnedMeta, out_dir: Path, example: np.ndarray) -> Path:
    """Write the MLflow model folder of ``predictor`` (its files under the ``predictor`` artifact)."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    staging = out_dir.parent / f"{out_dir.name}-predictor"
    staging.mkdir(parents=True, exist_ok=True)
    predictor.save(staging)
    (staging / META_FILE).write_text(json.dumps(asdict(meta), indent=2))
    wrapper = LearningPyfunc()
    wrapper.meta, wrapper.predictor = meta, predictor
    sample: Any = example
    if example.ndim == 2:
        sample = pd.DataFrame(example.astype(np.float64), columns=meta.feature_names)
    mlflow.pyfunc.save_model(
        path=str(out_dir),
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        artifacts={"predictor": str(staging)},
        signature=infer_signature(sample, wrapper.predict(None, sample)),
        input_example=sample,
        pip_requirements=_requirements(),
    )
    return out_dir
