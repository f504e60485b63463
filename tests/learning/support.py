"""Generated datasets whose label is a known function of their columns, processed by the real
dataset profile (as an upload is), and held-out rows of the same function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.datasets.profile import process
from pipelines.learning.base import FeatureSpec, TrainData
from pipelines.learning.data import input_matrix, train_data


def classes_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Three classes by the largest of a, b and -(a + b): linear boundaries."""
    scores = np.column_stack([a, b, -(a + b)])
    return np.array(["cat", "dog", "fish"])[np.argmax(scores, axis=1)]


def value_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 3.0 * a - 2.0 * b + 0.5


def table(kind: str, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    noise = rng.normal(size=rows)  # a column the label does not use
    target = classes_of(a, b) if kind == "classification" else value_of(a, b) + 0.05 * rng.normal(size=rows)
    return pd.DataFrame({"a": a, "b": b, "noise": noise, "target": target})


@dataclass(frozen=True)
class Case:
    data: TrainData
    x_test: np.ndarray
    y_test: np.ndarray  # class indices, or values


def make_case(kind: str, rows: int = 1200, split: float = 0.2) -> Case:
    processed = process(table(kind, rows, seed=1), kind, target=None, origin="generated.csv")
    data = train_data(processed.frame, processed.metadata, split, seed=0, dataset_type=kind)
    test = table(kind, 400, seed=2)
    assert data.spec is not None
    x_test = input_matrix(test[list(data.spec.names)].to_numpy().tolist(), data.spec)
    y: Any = test["target"].to_numpy()
    if kind == "classification":
        y = np.array([data.classes.index(v) for v in y])
    return Case(data, x_test, y)


def r2(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(1 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2))


def spec_of(data: TrainData) -> FeatureSpec:
    assert data.spec is not None
    return data.spec
