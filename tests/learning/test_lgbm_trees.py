"""The compiled walk of a LightGBM model's trees answers what ``Booster.predict`` answers, bit for bit."""

from __future__ import annotations

import re
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from numpy.typing import NDArray

from pipelines.learning.lgbm import LightGBMPredictor
from pipelines.learning.lgbm_trees import CompiledTrees, compile_trees

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3000, 8)).astype(np.float32)
LABEL = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)


def _holes(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """``x`` with NaN, exact zeros and values closer to zero than LightGBM's zero threshold."""
    out = x.copy()
    rng = np.random.default_rng(3)
    out[rng.random(out.shape) < 0.08] = np.nan
    out[rng.random(out.shape) < 0.08] = 0.0
    out[rng.random(out.shape) < 0.03] = np.float32(1e-38)
    out[rng.random(out.shape) < 0.03] = np.float32(-1e-37)
    return out


def _booster(
    params: dict[str, Any], x: NDArray[np.float32], y: NDArray[Any], rounds: int = 30
) -> lgb.Booster:
    settings = {"verbosity": -1, "num_threads": 1, "seed": 1, **params}
    trained = lgb.train(settings, lgb.Dataset(x, y), rounds)
    return lgb.Booster(model_str=trained.model_to_string())  # as the platform loads a saved model


def _compiled(booster: lgb.Booster) -> CompiledTrees:
    compiled = compile_trees(booster.model_to_string())
    assert compiled is not None
    return compiled


Case = tuple[dict[str, Any], NDArray[np.float32], NDArray[Any]]
CASES: dict[str, Case] = {
    "binary": ({"objective": "binary"}, X, LABEL),
    "binary, missing values in training": ({"objective": "binary"}, _holes(X), LABEL),
    "binary, zero as missing": ({"objective": "binary", "zero_as_missing": True}, _holes(X), LABEL),
    "binary, missing values not used": ({"objective": "binary", "use_missing": False}, _holes(X), LABEL),
    "binary, sigmoid 0.7": ({"objective": "binary", "sigmoid": 0.7}, X, LABEL),
    "multiclass": (
        {"objective": "multiclass", "num_class": 3}, _holes(X), np.digitize(X[:, 0] + X[:, 3], [-0.5, 0.5])
    ),
    "regression": ({"objective": "regression"}, _holes(X), X[:, 0] * 3.0 + X[:, 5]),
    "one-leaf trees": ({"objective": "binary", "min_data_in_leaf": 2000}, X, LABEL),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_the_compiled_trees_answer_what_lightgbm_answers_bit_for_bit(case: str) -> None:
    params, x, y = CASES[case]
    booster = _booster(params, x, y)
    compiled = _compiled(booster)
    for rows in (X, _holes(X), X[:1], _holes(X)[5:6]):
        expected = np.asarray(booster.predict(rows, num_threads=1))
        got = compiled.predict(rows)
        assert got.shape == expected.shape
        assert np.array_equal(got, expected, equal_nan=True), case


def test_one_leaf_trees_are_compiled_as_leaves() -> None:
    compiled = _compiled(_booster(*CASES["one-leaf trees"]))
    assert (compiled.depth == 0).any()


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"objective": "binary", "boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.5}, "averaged"),
        ({"objective": "huber"}, "another objective"),
        ({"objective": "binary", "linear_tree": True}, "linear trees"),
    ],
)
def test_models_the_walk_does_not_cover_compile_to_none(params: dict[str, Any], why: str) -> None:
    y = LABEL if params["objective"] == "binary" else X[:, 0]
    assert compile_trees(_booster(params, X, y, rounds=5).model_to_string()) is None, why


def test_categorical_splits_compile_to_none() -> None:
    x = X.copy()
    x[:, 0] = RNG.integers(0, 6, size=len(x))
    y = np.isin(x[:, 0], [1, 4]).astype(int)
    trained = lgb.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1},
        lgb.Dataset(x, y, categorical_feature=[0]),
        5,
    )
    text = trained.model_to_string()
    assert re.search(r"^num_cat=[1-9]", text, flags=re.MULTILINE)  # the model did split on categories
    assert compile_trees(text) is None


def test_rows_narrower_than_the_model_are_refused() -> None:
    compiled = _compiled(_booster(*CASES["binary"]))
    with pytest.raises(ValueError, match="at least 8 values"):
        compiled.predict(X[:, :5])


def test_the_predictor_uses_the_compiled_trees_for_small_batches() -> None:
    booster = _booster({"objective": "multiclass", "num_class": 3}, X, np.digitize(X[:, 0], [-0.5, 0.5]))
    predictor = LightGBMPredictor(booster.model_to_string(), "classification", 3)
    got = predictor.predict_proba(X[:100])
    assert isinstance(predictor.trees, CompiledTrees)
    assert np.array_equal(got, booster.predict(X[:100], num_threads=1))
    assert got.shape == (100, 3)
