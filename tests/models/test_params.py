"""Hyperparameter validation: defaults, unknown names, types and ranges, kinds."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.errors import InvalidRequestError
from pipelines.models.base import ModelKind
from pipelines.models.params import PARAM_MODELS, parse_params, validate_params


def test_every_kind_has_defaults_except_the_ensemble() -> None:
    assert set(PARAM_MODELS) == set(ModelKind)
    for kind in ModelKind:
        if kind is ModelKind.ENSEMBLE:
            continue
        params = validate_params(kind, None)
        assert params["random_state"] == 42
        assert validate_params(kind.value, {}) == params


def test_defaults_are_the_documented_ones() -> None:
    lgbm = validate_params("lightgbm", {})
    assert (lgbm["n_estimators"], lgbm["learning_rate"], lgbm["num_leaves"]) == (300, 0.05, 31)
    lstm = validate_params("lstm", {})
    assert (lstm["epochs"], lstm["seq_len"], lstm["patience"]) == (20, 20, 5)
    assert validate_params("multi_ohlc", {})["n_steps"] == 5
    assert validate_params("simple", {})["alpha"] == 1.0


def test_given_values_are_kept_and_seed_is_random_state() -> None:
    params = validate_params("xgboost", {"max_depth": 3, "learning_rate": 0.1, "seed": 7})
    assert params["max_depth"] == 3 and params["learning_rate"] == 0.1
    assert params["random_state"] == 7 and "seed" not in params
    assert validate_params("random_forest", {"min_child_samples": 9})["min_samples_leaf"] == 9


def test_unknown_parameter_is_named_with_the_valid_ones() -> None:
    with pytest.raises(InvalidRequestError) as err:
        validate_params("lightgbm", {"n_estimator": 10})
    msg = str(err.value)
    assert "unknown parameter 'n_estimator' for model kind 'lightgbm'" in msg
    assert "valid parameters:" in msg and "n_estimators" in msg and "num_leaves" in msg and "seed" in msg
    with pytest.raises(InvalidRequestError, match="unknown parameter 'num_leaves' for model kind 'xgboost'"):
        validate_params("xgboost", {"num_leaves": 10})


@pytest.mark.parametrize(
    ("kind", "params", "name"),
    [
        ("lightgbm", {"learning_rate": 0}, "learning_rate"),
        ("lightgbm", {"learning_rate": 1.5}, "learning_rate"),
        ("lightgbm", {"n_estimators": 0}, "n_estimators"),
        ("lightgbm", {"n_estimators": 2.5}, "n_estimators"),
        ("lightgbm", {"n_estimators": "many"}, "n_estimators"),
        ("lightgbm", {"num_leaves": 1}, "num_leaves"),
        ("xgboost", {"subsample": 0}, "subsample"),
        ("xgboost", {"colsample_bytree": 1.01}, "colsample_bytree"),
        ("simple", {"alpha": -1}, "alpha"),
        ("simple", {"alpha": float("nan")}, "alpha"),
        ("simple", {"alpha": float("inf")}, "alpha"),
        ("lstm", {"dropout": 1.0}, "dropout"),
        ("lstm", {"seq_len": 0}, "seq_len"),
        ("lstm", {"patience": 0}, "patience"),
        ("multi_ohlc", {"n_steps": 0}, "n_steps"),
        ("random_forest", {"max_depth": 0}, "max_depth"),
    ],
)
def test_out_of_range_and_ill_typed_values_are_rejected(kind: str, params: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"invalid parameter '{name}'"):
        validate_params(kind, params)


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(InvalidRequestError, match="'n_estimators' must be a number, not a boolean"):
        validate_params("lightgbm", {"n_estimators": True})


def test_seed_and_random_state_together_are_ambiguous() -> None:
    with pytest.raises(InvalidRequestError, match="either 'random_state' or 'seed'"):
        validate_params("simple", {"seed": 1, "random_state": 2})


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(
        InvalidRequestError, match="unknown model kind 'prophet'; valid kinds: simple, random_forest"
    ):
        validate_params("prophet", {})


def test_params_must_be_an_object() -> None:
    with pytest.raises(InvalidRequestError, match="must be an object"):
        validate_params("simple", [1, 2])  # type: ignore[arg-type]


def test_ensemble_members() -> None:
    params = validate_params(
        "ensemble",
        {"members": [{"model_name": "a", "version": 3, "weight": 2.0}, {"model_name": "b"}]},
    )
    assert params["members"] == [
        {"model_name": "a", "version": 3, "weight": 2.0},
        {"model_name": "b", "version": "champion", "weight": 1.0},
    ]
    with pytest.raises(InvalidRequestError, match="missing required parameter 'members'"):
        validate_params("ensemble", {})
    with pytest.raises(InvalidRequestError, match=r"invalid parameter 'members.0.weight'"):
        validate_params("ensemble", {"members": [{"model_name": "a", "weight": 0}]})
    with pytest.raises(
        InvalidRequestError, match=r"invalid parameter 'members.0.version': must be a version"
    ):
        validate_params("ensemble", {"members": [{"model_name": "a", "version": "latest"}]})
    with pytest.raises(InvalidRequestError, match=r"'members.0.version': must be a version number >= 1"):
        validate_params("ensemble", {"members": [{"model_name": "a", "version": 0}]})
    assert (
        validate_params("ensemble", {"members": [{"model_name": "a", "version": "4"}]})["members"][0][
            "version"
        ]
        == 4
    )
    with pytest.raises(InvalidRequestError, match=r"unknown field 'members.0.weigth'"):
        validate_params("ensemble", {"members": [{"model_name": "a", "weigth": 1}]})
    with pytest.raises(InvalidRequestError, match="listed twice"):
        validate_params("ensemble", {"members": [{"model_name": "a"}, {"model_name": "a"}]})
    with pytest.raises(InvalidRequestError, match="members"):
        validate_params("ensemble", {"members": []})


def test_parse_params_is_typed_and_frozen() -> None:
    parsed = parse_params(ModelKind.LSTM, {"hidden_size": 8})
    assert parsed.model_dump()["hidden_size"] == 8
    with pytest.raises(Exception, match="frozen"):
        parsed.random_state = 1  # type: ignore[misc]
