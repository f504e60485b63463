"""Hyperparameter rules: each model type's accepted keys, their types, ranges and defaults.

Rules are strict: an unknown key is an error, a boolean is not a number, an integer rule takes no
fraction (``3.0`` is accepted as 3, ``3.5`` is not). Errors are ``FieldError``s whose field is
``hyperparameters.<key>``, all of them at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pipelines.errors import InvalidRequestError
from pipelines.learning.base import FieldError

__all__ = ["OPTIMIZERS", "PARAMS", "Param", "normalized", "validate"]

OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")


@dataclass(frozen=True, slots=True)
class Param:
    """One hyperparameter. ``kind``: int, float, choice (one of ``choices``), int_list (a list of
    ints each within the bounds, ``max_items`` long at most). ``nullable``: null is accepted (and
    means the library's "no limit")."""

    kind: Literal["int", "float", "choice", "int_list"]
    default: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is excluded
    high_open: bool = False
    choices: tuple[str, ...] = ()
    max_items: int = 16
    nullable: bool = False
    doc: str = ""

    def describe(self) -> dict[str, Any]:
        """JSON-ready, for an API listing the model types."""
        out: dict[str, Any] = {"type": self.kind, "default": self.default}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.low is not None or self.high is not None:
            out["range"] = self._range()
        if self.nullable:
            out["nullable"] = True
        if self.doc:
            out["description"] = self.doc
        return out

    def _range(self) -> str:
        low = "-inf" if self.low is None else _num(self.low)
        high = "inf" if self.high is None else _num(self.high)
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"

    def check(self, value: Any) -> tuple[Any, str | None]:
        """(the normalized value, None) or (None, what is wrong)."""
        if value is None:
            return (None, None) if self.nullable else (None, "must not be null")
        if self.kind == "choice":
            if isinstance(value, str) and value.strip().lower() in self.choices:
                return value.strip().lower(), None
            return None, f"must be one of: {', '.join(self.choices)}"
        if self.kind == "int_list":
            return self._check_list(value)
        number = _number(value, integer=self.kind == "int")
        if number is None:
            what = "an integer" if self.kind == "int" else "a number"
            return None, f"must be {what} in {self._range()}"
        if not self._within(number):
            return None, f"must be in {self._range()}"
        return number, None

    def _check_list(self, value: Any) -> tuple[Any, str | None]:
        wrong = f"must be a list of 1 to {self.max_items} integers, each in {self._range()}"
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= self.max_items:
            return None, wrong
        items = [_number(v, integer=True) for v in value]
        if any(v is None or not self._within(v) for v in items):
            return None, wrong
        return [int(v) for v in items if v is not None], None

    def _within(self, number: float) -> bool:
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            return False
        return self.high is None or not (number >= self.high if self.high_open else number > self.high)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _number(value: Any, *, integer: bool) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    if integer:
        return int(value) if float(value).is_integer() else None
    return float(value)


def _int(default: int | None, low: int, high: int, doc: str = "", *, nullable: bool = False) -> Param:
    return Param("int", default, low, high, nullable=nullable, doc=doc)


def _float(default: float, low: float, high: float | None, *, low_open: bool = False, doc: str = "") -> Param:
    return Param("float", default, low, high, low_open=low_open, doc=doc)


def _rate(default: float) -> Param:
    return _float(default, 0, 1, low_open=True, doc="step size")


_SEED = _int(0, 0, 2**31 - 1, "random seed (same seed, same data: same model)")
_BOOSTING: dict[str, Param] = {
    "n_estimators": _int(200, 1, 10_000, "boosting rounds"),
    "rounds_per_epoch": _int(10, 1, 1_000, "boosting rounds reported as one epoch"),
    "learning_rate": _rate(0.1),
    "l2": _float(0.0, 0, None, doc="L2 regularization of leaf weights"),
    "subsample": _float(1.0, 0, 1, low_open=True, doc="fraction of rows per round"),
    "colsample": _float(1.0, 0, 1, low_open=True, doc="fraction of features per round"),
    "seed": _SEED,
}
_NETWORK: dict[str, Param] = {
    "epochs": _int(100, 1, 10_000),
    "batch_size": _int(32, 1, 65_536),
    "learning_rate": _rate(0.001),
    "optimizer": Param("choice", "adam", choices=OPTIMIZERS),
    "l2": _float(0.0, 0, None, doc="weight decay"),
    "seed": _SEED,
}
_DROPOUT = Param("float", 0.0, 0, 1, high_open=True, doc="dropout rate between layers")

_RESNET: dict[str, Param] = {
    **_NETWORK,
    "epochs": _int(10, 1, 1_000),
    "batch_size": _int(32, 2, 4_096, "images per step (batch norm needs two)"),
    "base_width": _int(
        64,
        4,
        128,
        "images: channels of the first stage, doubled at each of the next three; tables: the residual "
        "blocks' width",
    ),
    "augment": Param(
        "choice", "none", choices=("none", "flip"), doc="images only; flip: random left-right flips"
    ),
    "dropout": Param(
        "float", 0.0, 0, 1, high_open=True, doc="tables only: dropout rate in the residual blocks"
    ),
}

PARAMS: dict[str, dict[str, Param]] = {
    "lightgbm": {
        **_BOOSTING,
        "num_leaves": _int(31, 2, 131_072, "leaves per tree"),
        "max_depth": _int(None, 1, 64, "tree depth limit (null: none)", nullable=True),
        "min_child_samples": _int(20, 1, 1_000_000, "rows a leaf holds at least"),
    },
    "xgboost": {
        **_BOOSTING,
        "max_depth": _int(6, 1, 32, "tree depth limit"),
        "min_child_weight": _float(1.0, 0, None, doc="hessian a leaf holds at least"),
    },
    "random_forest": {
        "n_estimators": _int(100, 1, 5_000, "trees"),
        "trees_per_epoch": _int(10, 1, 1_000, "trees added per epoch"),
        "max_depth": _int(None, 1, 100, "tree depth limit (null: none)", nullable=True),
        "min_samples_leaf": _int(1, 1, 1_000_000, "rows a leaf holds at least"),
        "max_features": Param("choice", "sqrt", choices=("sqrt", "log2", "all")),
        "seed": _SEED,
    },
    "logistic": {**_NETWORK, "learning_rate": _rate(0.01)},
    "linear": {**_NETWORK, "learning_rate": _rate(0.01)},
    "mlp": {
        **_NETWORK,
        "hidden_layers": Param("int_list", [64, 32], 1, 4096, doc="units of each hidden layer"),
        "dropout": _DROPOUT,
    },
    **{
        name: {
            **_NETWORK,
            "hidden_size": _int(32, 1, 1024, "units of the recurrent layers"),
            "num_layers": _int(1, 1, 8, "stacked recurrent layers"),
            "sequence_length": _int(20, 2, 1_000, "rows per window (the last one's label is predicted)"),
            "dropout": _DROPOUT,
        }
        for name in ("lstm", "gru")
    },
    **{f"resnet{depth}": _RESNET for depth in (18, 34, 50)},
}


# Tree model types: their epochs are ``n_estimators`` over the per-epoch count; ``epochs`` may be
# given instead of (or consistently with) ``n_estimators``.
_PER_EPOCH = {
    "lightgbm": "rounds_per_epoch",
    "xgboost": "rounds_per_epoch",
    "random_forest": "trees_per_epoch",
}


def _unknown(model_type: str, key: str, rules: Mapping[str, Param]) -> FieldError:
    accepted = ", ".join(sorted([*rules, *(["epochs"] if model_type in _PER_EPOCH else [])]))
    if any(key in other for other in PARAMS.values()):
        message = f"the {model_type} model type does not use {key}; accepted: {accepted}"
    else:
        message = f"unknown hyperparameter for {model_type}; accepted: {accepted}"
    return FieldError(f"hyperparameters.{key}", message)


def validate(model_type: str, hyperparameters: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The hyperparameters with defaults filled in, and every error (empty when valid)."""
    rules = PARAMS[model_type]
    per_epoch = _PER_EPOCH.get(model_type)
    extra = {"epochs"} if per_epoch else set()
    errors = [_unknown(model_type, k, rules) for k in hyperparameters if k not in rules and k not in extra]
    out: dict[str, Any] = {}
    for key, rule in rules.items():
        if key not in hyperparameters:
            out[key] = list(rule.default) if isinstance(rule.default, list) else rule.default
            continue
        value, problem = rule.check(hyperparameters[key])
        if problem is not None:
            errors.append(FieldError(f"hyperparameters.{key}", problem))
        else:
            out[key] = value
    if per_epoch and "epochs" in hyperparameters:
        errors += _tree_epochs(per_epoch, rules, hyperparameters, out)
    return out, errors


def _tree_epochs(
    per_epoch: str, rules: Mapping[str, Param], given: Mapping[str, Any], out: dict[str, Any]
) -> list[FieldError]:
    """``epochs`` of a tree model: ``n_estimators`` = epochs x ``per_epoch`` (set in ``out``);
    an ``n_estimators`` given beside it must agree."""
    epochs, problem = _int(None, 1, 10_000).check(given["epochs"])
    if problem is not None or epochs is None:
        return [FieldError("hyperparameters.epochs", problem or "must not be null")]
    if per_epoch not in out or ("n_estimators" not in out and "n_estimators" in given):
        return []  # the per-epoch count or n_estimators is wrong, and named already
    total = int(epochs) * int(out[per_epoch])
    if "n_estimators" in given:
        if total != out["n_estimators"]:
            return [
                FieldError(
                    "hyperparameters.epochs",
                    f"epochs {epochs} x {per_epoch} {out[per_epoch]} = {total} disagrees with n_estimators "
                    f"{out['n_estimators']}; give one of epochs and n_estimators, or both agreeing",
                )
            ]
        return []
    value, problem = rules["n_estimators"].check(total)
    if problem is not None:
        return [
            FieldError(
                "hyperparameters.epochs",
                f"epochs {epochs} x {per_epoch} {out[per_epoch]} = {total} trees or rounds; "
                f"n_estimators {problem}",
            )
        ]
    out["n_estimators"] = value
    return []


def normalized(model_type: str, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """``validate``'s values, raising ``InvalidRequestError`` naming every error."""
    values, errors = validate(model_type, hyperparameters)
    if errors:
        raise InvalidRequestError("; ".join(f"{e.field}: {e.message}" for e in errors))
    return values
