"""Hyperparameters of each model kind: one pydantic model per kind, defaults filled in.

``validate_params(kind, params)`` is the one gate the API, the CLI and the training code use: it
returns a plain dict with every default filled in (what a model stores and a tracker logs), and
raises :class:`InvalidRequestError` naming the offending parameter: an unknown one (listing the
valid ones), a wrong type or an out-of-range value. ``seed`` is accepted as another name of
``random_state``. Defaults are sized for a few thousand daily bars on a laptop.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipelines.errors import InvalidRequestError
from pipelines.models.base import ModelKind

__all__ = [
    "PARAM_MODELS",
    "EnsembleMember",
    "EnsembleParams",
    "KindParams",
    "LSTMParams",
    "LightGBMParams",
    "MultiOHLCParams",
    "RandomForestParams",
    "SimpleParams",
    "XGBoostParams",
    "parse_params",
    "validate_params",
]


class _Strict(BaseModel):
    """Unknown keys, booleans where a number belongs, and non-finite numbers are all rejected."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_bools(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if isinstance(value, bool) and field is not None and field.annotation is not bool:
                    raise ValueError(f"parameter {name!r} must be a number, not a boolean")
        return data


class KindParams(_Strict):
    """Parameters every kind takes."""

    random_state: int = Field(
        42, ge=0, le=2**31 - 1, validation_alias=AliasChoices("random_state", "seed"), description="seed"
    )

    @model_validator(mode="before")
    @classmethod
    def _one_seed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "random_state" in data and "seed" in data:
            raise ValueError("give either 'random_state' or 'seed', not both")
        return data


class SimpleParams(KindParams):
    alpha: float = Field(1.0, ge=0.0, description="ridge (L2) strength on standardized features")


class RandomForestParams(KindParams):
    n_estimators: int = Field(200, ge=1, le=10_000)
    max_depth: int | None = Field(10, ge=1, le=256, description="None grows trees fully")
    min_samples_leaf: int = Field(
        5, ge=1, validation_alias=AliasChoices("min_samples_leaf", "min_child_samples")
    )
    max_features: float = Field(1.0 / 3.0, gt=0.0, le=1.0, description="share of features tried per split")

    @model_validator(mode="before")
    @classmethod
    def _one_leaf_size(cls, data: Any) -> Any:
        if isinstance(data, dict) and "min_samples_leaf" in data and "min_child_samples" in data:
            raise ValueError("give either 'min_samples_leaf' or 'min_child_samples', not both")
        return data


class _BoostingParams(KindParams):
    n_estimators: int = Field(300, ge=1, le=100_000)
    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    subsample: float = Field(0.8, gt=0.0, le=1.0)
    colsample_bytree: float = Field(0.8, gt=0.0, le=1.0)
    reg_alpha: float = Field(0.0, ge=0.0)
    reg_lambda: float = Field(1.0, ge=0.0)
    early_stopping_rounds: int = Field(
        50, ge=0, description="stop when the validation loss has not improved for this many rounds; 0 = off"
    )


class LightGBMParams(_BoostingParams):
    num_leaves: int = Field(31, ge=2, le=131_072)
    max_depth: int = Field(-1, ge=-1, le=256, description="-1 = no limit")
    min_child_samples: int = Field(20, ge=1)
    reg_lambda: float = Field(0.0, ge=0.0)


class XGBoostParams(_BoostingParams):
    max_depth: int = Field(6, ge=1, le=64)
    min_child_weight: float = Field(1.0, ge=0.0)


class LSTMParams(KindParams):
    hidden_size: int = Field(32, ge=1, le=4096)
    num_layers: int = Field(1, ge=1, le=8)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="between stacked layers (num_layers > 1)")
    seq_len: int = Field(20, ge=1, le=2048, description="consecutive bars per input window")
    epochs: int = Field(20, ge=1, le=10_000)
    batch_size: int = Field(64, ge=1, le=65_536)
    learning_rate: float = Field(1e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    patience: int = Field(5, ge=1, description="epochs without validation improvement before stopping")


class EnsembleMember(_Strict):
    model_name: str = Field(min_length=1, max_length=200)
    version: int | str = Field("champion", description="a version number, or 'champion'")
    weight: float = Field(1.0, gt=0.0)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> int | str:
        if value == "champion":
            return "champion"
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        raise ValueError(f"must be a version number >= 1 or 'champion', got {value!r}")


class EnsembleParams(KindParams):
    members: list[EnsembleMember] = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _distinct(self) -> EnsembleParams:
        seen: set[tuple[str, int | str]] = set()
        for m in self.members:
            if (m.model_name, m.version) in seen:
                raise ValueError(f"ensemble member {m.model_name!r} version {m.version!r} is listed twice")
            seen.add((m.model_name, m.version))
        return self


class MultiOHLCParams(LightGBMParams):
    """LightGBM boosters on the principal components of the standardized OHLC path (see multi_ohlc)."""

    n_steps: int = Field(5, ge=1, le=2000, description="bars ahead to forecast")
    n_estimators: int = Field(200, ge=1, le=100_000)
    target_components: int = Field(
        8, ge=1, le=64, description="principal components of the target path to model (capped at 4*n_steps)"
    )


PARAM_MODELS: dict[ModelKind, type[KindParams]] = {
    ModelKind.SIMPLE: SimpleParams,
    ModelKind.RANDOM_FOREST: RandomForestParams,
    ModelKind.LIGHTGBM: LightGBMParams,
    ModelKind.XGBOOST: XGBoostParams,
    ModelKind.LSTM: LSTMParams,
    ModelKind.ENSEMBLE: EnsembleParams,
    ModelKind.MULTI_OHLC: MultiOHLCParams,
}


def _kind(kind: ModelKind | str) -> ModelKind:
    try:
        return ModelKind(kind)
    except ValueError:
        valid = ", ".join(k.value for k in ModelKind)
        raise InvalidRequestError(f"unknown model kind {kind!r}; valid kinds: {valid}") from None


def _valid_names(model: type[BaseModel]) -> list[str]:
    names: list[str] = []
    for name, field in model.model_fields.items():
        names.append(name)
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.extend(str(c) for c in alias.choices if c != name)
    return sorted(names)


def _message(kind: ModelKind, model: type[BaseModel], err: ValidationError) -> str:
    problems: list[str] = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            if len(e["loc"]) == 1:
                valid = ", ".join(_valid_names(model))
                problems.append(
                    f"unknown parameter {loc!r} for model kind {kind.value!r}; valid parameters: {valid}"
                )
            else:
                problems.append(f"unknown field {loc!r}; an ensemble member has model_name, version, weight")
        elif e["type"] == "missing":
            problems.append(f"missing required parameter {loc!r}")
        elif not loc:
            problems.append(str(e["msg"]).removeprefix("Value error, "))
        elif e["type"] == "value_error":
            problems.append(f"invalid parameter {loc!r}: {str(e['msg']).removeprefix('Value error, ')}")
        else:
            problems.append(f"invalid parameter {loc!r} ({e['msg']}; got {e.get('input')!r})")
    return "; ".join(problems)


def parse_params(kind: ModelKind | str, params: dict[str, Any] | None) -> KindParams:
    """The typed parameters of ``kind`` (defaults filled in); InvalidRequestError on bad input."""
    k = _kind(kind)
    model = PARAM_MODELS[k]
    if params is not None and not isinstance(params, dict):
        raise InvalidRequestError(f"parameters must be an object, got {type(params).__name__}")
    try:
        return model.model_validate(params or {})
    except ValidationError as err:
        raise InvalidRequestError(_message(k, model, err)) from None


def validate_params(kind: ModelKind | str, params: dict[str, Any] | None) -> dict[str, Any]:
    """``params`` checked against ``kind`` and completed with defaults, as a plain JSON-able dict."""
    return parse_params(kind, params).model_dump(mode="json")
