"""The model types' registry and the training request's checks: every hyperparameter rule answers
with a FieldError naming the field, as the API's 400 details list shows it."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.errors import InvalidRequestError
from pipelines.learning.base import EarlyStopping, FieldError
from pipelines.learning.registry import (
    MODEL_TYPES,
    check_model_type,
    check_validation_split,
    estimate_seconds,
    known_model_types,
    planned_epochs,
    validate_early_stopping,
    validate_hyperparameters,
)


def fields(errors: list[FieldError]) -> dict[str, str]:
    return {e.field: e.message for e in errors}


def test_defaults_fill_an_empty_request() -> None:
    values, errors = validate_hyperparameters("lightgbm", {})
    assert errors == []
    assert values["n_estimators"] == 200 and values["learning_rate"] == 0.1 and values["max_depth"] is None
    assert set(values) == set(MODEL_TYPES["lightgbm"].params)


def test_valid_values_are_normalized() -> None:
    values, errors = validate_hyperparameters(
        "lightgbm", {"n_estimators": 50.0, "learning_rate": 1, "max_depth": None, "num_leaves": 8}
    )
    assert errors == []
    assert values["n_estimators"] == 50 and isinstance(values["n_estimators"], int)
    assert values["learning_rate"] == 1.0 and values["num_leaves"] == 8


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("learning_rate", 0, "must be in (0, 1]"),
        ("learning_rate", 1.5, "must be in (0, 1]"),
        ("learning_rate", "fast", "must be a number in (0, 1]"),
        ("learning_rate", True, "must be a number in (0, 1]"),
        ("learning_rate", float("nan"), "must be a number in (0, 1]"),
        ("n_estimators", 0, "must be in [1, 10000]"),
        ("n_estimators", 10_001, "must be in [1, 10000]"),
        ("n_estimators", 2.5, "must be an integer in [1, 10000]"),
        ("n_estimators", True, "must be an integer in [1, 10000]"),
        ("num_leaves", 1, "must be in [2, 131072]"),
        ("max_depth", 0, "must be in [1, 64]"),
        ("l2", -0.1, "must be in [0, inf]"),
        ("subsample", 0, "must be in (0, 1]"),
        ("seed", -1, "must be in [0, 2147483647]"),
    ],
)
def test_each_rule_names_its_field(key: str, value: Any, message: str) -> None:
    _values, errors = validate_hyperparameters("lightgbm", {key: value})
    assert fields(errors) == {f"hyperparameters.{key}": message}
    assert errors[0].as_dict() == {"field": f"hyperparameters.{key}", "message": message}


def test_unknown_keys_and_nulls_are_errors_all_at_once() -> None:
    _, errors = validate_hyperparameters(
        "lightgbm", {"batch_size": 5, "learning_rate": None, "n_estimators": -1, "momentum": 1}
    )
    found = fields(errors)
    assert set(found) == {
        "hyperparameters.batch_size",
        "hyperparameters.learning_rate",
        "hyperparameters.n_estimators",
        "hyperparameters.momentum",
    }
    assert found["hyperparameters.batch_size"].startswith(
        "the lightgbm model type does not use batch_size; accepted: colsample"
    )
    assert found["hyperparameters.momentum"].startswith("unknown hyperparameter for lightgbm; accepted:")
    assert found["hyperparameters.learning_rate"] == "must not be null"


def test_unknown_model_type_lists_the_known_ones() -> None:
    known = "gru, lightgbm, linear, logistic, lstm, mlp, random_forest, resnet18, resnet34, resnet50, xgboost"
    with pytest.raises(
        InvalidRequestError, match=f"unknown model_type 'resnet9'; known model types: {known}$"
    ):
        validate_hyperparameters("resnet9", {})
    with pytest.raises(InvalidRequestError, match=f"known model types: {known}$"):
        check_model_type("nope", "classification", False)
    assert known_model_types() == known.split(", ")


def test_check_model_type_refuses_the_wrong_task_or_data() -> None:
    with pytest.raises(
        InvalidRequestError,
        match=r"model_type 'logistic' does not train regression; model types for regression: "
        r"lightgbm, linear, mlp, random_forest, resnet18, resnet34, resnet50, xgboost$",
    ):
        check_model_type("logistic", "regression", False)
    with pytest.raises(InvalidRequestError, match="'lstm' trains on time series"):
        check_model_type("lstm", "classification", False)
    assert check_model_type("lstm", "classification", True).time_series_only
    assert check_model_type("linear", "regression", True).name == "linear"


@pytest.mark.parametrize(
    ("model_type", "key", "value", "message"),
    [
        ("mlp", "epochs", 0, "must be in [1, 10000]"),
        ("mlp", "epochs", 10_001, "must be in [1, 10000]"),
        ("mlp", "batch_size", 0, "must be in [1, 65536]"),
        ("mlp", "batch_size", 32.5, "must be an integer in [1, 65536]"),
        ("mlp", "optimizer", "adagrad", "must be one of: adam, sgd, adamw, rmsprop"),
        ("mlp", "optimizer", 1, "must be one of: adam, sgd, adamw, rmsprop"),
        ("mlp", "hidden_layers", [64, 0], "must be a list of 1 to 16 integers, each in [1, 4096]"),
        ("mlp", "hidden_layers", [], "must be a list of 1 to 16 integers, each in [1, 4096]"),
        ("mlp", "hidden_layers", 64, "must be a list of 1 to 16 integers, each in [1, 4096]"),
        ("mlp", "hidden_layers", [True], "must be a list of 1 to 16 integers, each in [1, 4096]"),
        ("mlp", "dropout", 1, "must be in [0, 1)"),
        ("mlp", "dropout", -0.1, "must be in [0, 1)"),
        ("logistic", "l2", -1, "must be in [0, inf]"),
        ("lstm", "sequence_length", 1, "must be in [2, 1000]"),
        ("gru", "num_layers", 9, "must be in [1, 8]"),
        ("random_forest", "max_features", "half", "must be one of: sqrt, log2, all"),
        ("random_forest", "min_samples_leaf", 0, "must be in [1, 1000000]"),
        ("xgboost", "max_depth", None, "must not be null"),
        ("xgboost", "rounds_per_epoch", 0, "must be in [1, 1000]"),
    ],
)
def test_each_model_types_rules(model_type: str, key: str, value: Any, message: str) -> None:
    assert fields(validate_hyperparameters(model_type, {key: value})[1]) == {
        f"hyperparameters.{key}": message
    }


def test_network_values_are_normalized() -> None:
    values, errors = validate_hyperparameters(
        "mlp", {"optimizer": " AdamW", "hidden_layers": [8.0, 4], "dropout": 0, "epochs": 3}
    )
    assert errors == []
    assert values["optimizer"] == "adamw" and values["hidden_layers"] == [8, 4] and values["dropout"] == 0.0
    assert values["batch_size"] == 32 and values["learning_rate"] == 0.001
    assert planned_epochs("mlp", {"epochs": 3}) == 3


def test_check_model_type_answers_the_spec() -> None:
    spec = check_model_type("lightgbm", "regression", False)
    assert spec.name == "lightgbm" and "regression" in spec.tasks
    assert spec.describe()["hyperparameters"]["learning_rate"] == {
        "type": "float",
        "default": 0.1,
        "range": "(0, 1]",
        "description": "step size",
    }


def test_planned_epochs_and_estimates() -> None:
    assert planned_epochs("lightgbm", {"n_estimators": 95, "rounds_per_epoch": 10}) == 10
    small = estimate_seconds("lightgbm", 1_000, 10, 10)
    large = estimate_seconds("lightgbm", 1_000_000, 100, 100)
    assert 1 <= small < large
    assert isinstance(large, int)
    # the benchmark's run: 1,000,000 rows x 20, 100 trees (10 epochs) took 16 s on a quiet machine
    # (14.4 s reading and training, 1.7 s registering); the estimate is of that order, not the 270 s
    # a calibration under load once gave
    benchmark = estimate_seconds("lightgbm", 1_000_000, 20, 10)
    assert 12 <= benchmark <= 60
    # registration alone counts: a tiny run is still some seconds
    assert estimate_seconds("mlp", 10, 2, 1) >= 10
    # a ResNet on images costs per pixel value, on a table per feature (its residual MLP)
    images = estimate_seconds("resnet18", 1_600, 64 * 64 * 3, 1, images=True)
    assert 30 <= images <= 100
    assert estimate_seconds("resnet18", 1_600, 20, 100) < images


@pytest.mark.parametrize("value", [0, -0.1, 0.95, 1, True, "0.2", None])
def test_validation_split_outside_its_range_is_refused(value: Any) -> None:
    assert fields(check_validation_split(value)) == {"validation_split": "must be a number in (0, 0.9]"}


@pytest.mark.parametrize("value", [0.2, 0.9, 0.01])
def test_validation_split_within_its_range(value: float) -> None:
    assert check_validation_split(value) == []


def test_early_stopping_defaults_and_values() -> None:
    assert validate_early_stopping(None, "classification") == (EarlyStopping(), [])
    early, errors = validate_early_stopping({"patience": 3, "monitor": "val_mae"}, "regression")
    assert errors == [] and early == EarlyStopping(enabled=True, patience=3, monitor="val_mae")


def test_early_stopping_rules() -> None:
    raw = {"enabled": "yes", "patience": 0, "monitor": "val_mae", "delta": 1}
    _, errors = validate_early_stopping(raw, "classification")
    assert fields(errors) == {
        "early_stopping.enabled": "must be true or false",
        "early_stopping.patience": "must be an integer in [1, 1000]",
        "early_stopping.monitor": "must be one of: loss, accuracy, val_loss, val_accuracy",
        "early_stopping.delta": "unknown key; accepted: enabled, monitor, patience",
    }
    assert fields(validate_early_stopping({"patience": 1001}, "regression")[1]) == {
        "early_stopping.patience": "must be an integer in [1, 1000]"
    }
    assert fields(validate_early_stopping([1], "regression")[1]) == {"early_stopping": "must be an object"}


@pytest.mark.parametrize(
    ("model_type", "per_epoch"), [("lightgbm", 10), ("xgboost", 10), ("random_forest", 10)]
)
def test_tree_models_take_epochs_as_rounds_per_epoch(model_type: str, per_epoch: int) -> None:
    values, errors = validate_hyperparameters(model_type, {"epochs": 7})
    assert errors == [] and values["n_estimators"] == 7 * per_epoch
    assert planned_epochs(model_type, {"epochs": 7}) == 7
    key = "trees_per_epoch" if model_type == "random_forest" else "rounds_per_epoch"
    values, errors = validate_hyperparameters(model_type, {"epochs": 3, key: 5, "n_estimators": 15})
    assert errors == [] and values["n_estimators"] == 15
    _, errors = validate_hyperparameters(model_type, {"epochs": 3, "n_estimators": 40})
    message = fields(errors)["hyperparameters.epochs"]
    assert "epochs 3" in message and "n_estimators 40" in message and "disagrees" in message
    _, errors = validate_hyperparameters(model_type, {"epochs": 100, "optimizer": "adam", "batch_size": 32})
    found = fields(errors)
    assert set(found) == {"hyperparameters.optimizer", "hyperparameters.batch_size"}
    assert found["hyperparameters.optimizer"].startswith(
        f"the {model_type} model type does not use optimizer"
    )
    _, errors = validate_hyperparameters(model_type, {"epochs": 0})
    assert fields(errors) == {"hyperparameters.epochs": "must be in [1, 10000]"}


def test_only_the_model_types_that_can_train_on_cuda_ask_for_it() -> None:
    """A job probes CUDA (and records the device) only for these; LightGBM and the random forest
    always train on the CPU here, so their models never say "cuda"."""
    from pipelines.learning.registry import MODEL_TYPES

    assert {name for name, spec in MODEL_TYPES.items() if not spec.gpu} == {"lightgbm", "random_forest"}
