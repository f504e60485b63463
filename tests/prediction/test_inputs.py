"""Serving computes only the features a model reads: what trees read, the model's input rows from a
feature subset (``FeatureSet.subset``: tests/features/test_features_api.py), and the union kept per
feature set."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.features import get_feature_set
from pipelines.models.kinds import create_model
from pipelines.prediction.inputs import InputSets, ModelInputs, features_read

NAMES = ["f0", "f1", "f2", "f3"]


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_trees_read_only_the_features_they_split_on(kind: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    x[:, 2] = 1.0  # constant: no split can use it
    y = 0.5 * x[:, 0] - 0.3 * x[:, 1] + 0.1 * rng.normal(size=400)
    params = {"n_estimators": 30, "num_leaves": 7} if kind == "lightgbm" else {"n_estimators": 30}
    model = create_model(kind, params, NAMES, "cpu")
    model.fit(x, y)
    reads = features_read(model)
    assert "f2" not in reads and {"f0", "f1"} <= set(reads)
    masked = x[:50].copy()
    masked[:, [NAMES.index(n) for n in NAMES if n not in reads]] = np.nan
    np.testing.assert_array_equal(model.predict(masked), model.predict(x[:50]))


def test_a_linear_model_reads_everything() -> None:
    rng = np.random.default_rng(1)
    model = create_model("simple", {}, NAMES, "cpu")
    model.fit(rng.normal(size=(100, 4)), rng.normal(size=100))
    assert features_read(model) == NAMES


def test_model_inputs_fill_unread_columns_with_nan() -> None:
    full = get_feature_set("default")
    names = ["macd_signal_12_26_9", "rsi_14", "sma_10"]  # the model's order, not the set's
    inputs = ModelInputs(names, ["rsi_14", "macd_signal_12_26_9"])
    sub = full.subset(inputs.reads)
    matrix = np.arange(2.0 * len(sub.columns)).reshape(2, -1)
    x = inputs.gather(matrix, sub)
    assert x.shape == (2, 3) and np.isnan(x[:, 2]).all()
    np.testing.assert_array_equal(x[:, 0], matrix[:, sub.columns.index("macd_signal_12_26_9")])
    np.testing.assert_array_equal(x[:, 1], matrix[:, sub.columns.index("rsi_14")])
    every = ModelInputs(full.columns, full.columns)
    block = np.ones((1, len(full.columns)))
    assert every.gather(block, full) is block  # the set's own order: no copy
    with pytest.raises(ValueError, match="lacks"):
        ModelInputs(names, ["sma_10"]).gather(matrix, sub)


def test_input_sets_keep_the_union_and_forget_narrower_subsets() -> None:
    full = get_feature_set("default")
    forgotten: list[str] = []
    sets = InputSets(forgotten.append)
    assert sets.get(full) is full  # nothing loaded yet: the whole set
    sets.widen(full, ["rsi_14"])
    first = sets.get(full)
    assert "rsi_14" in first.columns and len(first.plan) == 1 and forgotten == []
    sets.widen(full, ["rsi_14"])  # covered: nothing changes
    assert sets.get(full) is first and forgotten == []
    sets.widen(full, ["macd_signal_12_26_9"])
    second = sets.get(full)
    assert {"rsi_14", "macd_signal_12_26_9"} <= set(second.columns) and forgotten == [first.name]
    sets.widen(full, full.columns)
    assert sets.get(full) is full and forgotten == [first.name, second.name]
