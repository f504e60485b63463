"""The model kinds: create one, load a saved one, reach its library's own predict.

``create_model(kind, params, feature_names, device)`` validates ``params`` and returns an unfitted
Regressor (an ensemble is built from its members, loaded through ``member_loader``).
``load_model(path)`` restores what ``save`` wrote (a directory with ``model.json``). Every kind
predicts forward log-returns; see :mod:`pipelines.models.base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import InvalidRequestError
from pipelines.models.base import ModelKind, Regressor
from pipelines.models.device import DEVICES
from pipelines.models.kinds._common import BaseRegressor, NativePredict, read_meta
from pipelines.models.kinds.ensemble import EnsembleRegressor, MemberLoader
from pipelines.models.kinds.forest import RandomForestRegressorModel
from pipelines.models.kinds.lgbm import LightGBMRegressor
from pipelines.models.kinds.linear import SimpleRegressor
from pipelines.models.kinds.multi_ohlc import MultiOHLCRegressor, ohlc_output_names
from pipelines.models.kinds.xgb import XGBoostRegressor
from pipelines.models.params import validate_params

if TYPE_CHECKING:
    from pipelines.models.kinds.lstm import LSTMRegressor

__all__ = [
    "BaseRegressor",
    "EnsembleRegressor",
    "LSTMRegressor",
    "LightGBMRegressor",
    "MemberLoader",
    "MultiOHLCRegressor",
    "NativePredict",
    "RandomForestRegressorModel",
    "SimpleRegressor",
    "XGBoostRegressor",
    "create_model",
    "kind_class",
    "load_model",
    "native_predict_fn",
    "ohlc_output_names",
]

_CLASSES: dict[ModelKind, type[BaseRegressor]] = {
    ModelKind.SIMPLE: SimpleRegressor,
    ModelKind.RANDOM_FOREST: RandomForestRegressorModel,
    ModelKind.LIGHTGBM: LightGBMRegressor,
    ModelKind.XGBOOST: XGBoostRegressor,
    ModelKind.ENSEMBLE: EnsembleRegressor,
    ModelKind.MULTI_OHLC: MultiOHLCRegressor,
}


def kind_class(kind: ModelKind | str) -> type[BaseRegressor]:
    """The class of ``kind``. PyTorch (about a second to import) loads only when an lstm is used;
    the other libraries are imported inside the kinds' methods, so this package imports fast."""
    k = ModelKind(kind)
    if k is ModelKind.LSTM:
        from pipelines.models.kinds.lstm import LSTMRegressor

        return LSTMRegressor
    return _CLASSES[k]


def __getattr__(name: str) -> Any:
    if name == "LSTMRegressor":
        return kind_class(ModelKind.LSTM)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_model(
    kind: ModelKind | str,
    params: dict[str, Any] | None,
    feature_names: Sequence[str],
    device: str = "cpu",
    member_loader: MemberLoader | None = None,
) -> BaseRegressor:
    """An unfitted model of ``kind``. ``device`` is a resolved device ("cpu" or "cuda", see
    :func:`pipelines.models.device.resolve_device`); the model's ``device`` says what it really used."""
    checked = validate_params(kind, params)
    if device not in DEVICES:
        raise InvalidRequestError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    k = ModelKind(kind)
    if k is ModelKind.ENSEMBLE:
        if member_loader is None:
            raise InvalidRequestError("an ensemble is built from registered models: pass a member_loader")
        members = [
            (
                m["model_name"],
                str(m["version"]),
                m["weight"],
                member_loader(m["model_name"], str(m["version"])),
            )
            for m in checked["members"]
        ]
        return EnsembleRegressor(members, feature_names, checked)
    cls: Any = kind_class(k)
    model: BaseRegressor = cls(checked, list(feature_names), device)
    return model


def load_model(path: Path, member_loader: MemberLoader | None = None) -> BaseRegressor:
    """The model saved under ``path``; an ensemble resolves its members through ``member_loader``."""
    meta = read_meta(Path(path))
    try:
        cls = kind_class(meta["kind"])
    except (KeyError, ValueError):
        raise InvalidRequestError(f"{path}: unknown model kind {meta.get('kind')!r}") from None
    return cls.load(Path(path), meta, member_loader=member_loader)


def native_predict_fn(model: Regressor) -> NativePredict:
    """The bare library's predict on the model's native object, taking the same numpy matrix:
    ``Booster.predict`` (LightGBM), ``Booster.inplace_predict`` (XGBoost), the scikit-learn
    estimator's ``predict``. Kinds without a single native predictor (lstm, ensemble, multi_ohlc)
    raise InvalidRequestError."""
    fn = model.native_predict() if isinstance(model, BaseRegressor) else None
    if fn is None:
        raise InvalidRequestError(f"the {model.kind} kind has no single native predict function")
    return fn
