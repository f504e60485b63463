"""The model-driven strategy and the context that serves it registered models' signals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest.strategies.lookup import ParamSpec, StrategyContext, register_strategy
from pipelines.errors import InvalidRequestError
from pipelines.features import compute_features
from pipelines.models.kinds import BaseRegressor
from pipelines.models.signals import derive_signals

if TYPE_CHECKING:  # the registry pulls in mlflow, seconds to import
    from pipelines.models.registry import ModelRegistry

__all__ = ["RegistrySignals", "input_outputs", "model_outputs", "model_signal", "signal_targets"]

FloatArray = npt.NDArray[np.float64]


def model_outputs(
    model: BaseRegressor,
    bars: pd.DataFrame,
    feature_set: str,
    scale: float,
    error_scale: float | None = None,
    features: pd.DataFrame | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """``derive_signals``' fields (signal, confidence, predicted_return, ...) of ``model``'s predictions
    for every bar; NaN during the features' warm-up (a model fed incomplete features says nothing we
    should trade on)."""
    table = compute_features(bars, feature_set) if features is None else features
    x = table[model.feature_names].to_numpy(dtype=np.float64, na_value=np.nan)
    return input_outputs(model, x, bars["close"].to_numpy(dtype=np.float64), scale, error_scale)


def input_outputs(
    model: BaseRegressor, x: FloatArray, close: FloatArray, scale: float, error_scale: float | None = None
) -> dict[str, npt.NDArray[Any]]:
    """:func:`model_outputs` of the model's input rows ``x`` (its columns in its order) and the
    bars' closes."""
    pred = np.asarray(model.predict(x), dtype=np.float64)
    if pred.ndim != 1:
        raise InvalidRequestError(f"a {model.kind.value} model forecasts paths; ml_predictive needs returns")
    pred[~np.isfinite(x).all(axis=1)] = np.nan
    return derive_signals(pred, close, scale, error_scale=error_scale or None)


def model_signal(
    model: BaseRegressor,
    bars: pd.DataFrame,
    feature_set: str,
    scale: float,
    error_scale: float | None = None,
    features: pd.DataFrame | None = None,
) -> FloatArray:
    """The signal of :func:`model_outputs`: what ``ml_predictive`` thresholds."""
    signal: FloatArray = model_outputs(model, bars, feature_set, scale, error_scale, features)["signal"]
    return signal


def signal_targets(signal: FloatArray, threshold: float) -> FloatArray:
    """+1 above ``threshold``, -1 below ``-threshold``, else (and for NaN) 0."""
    out: FloatArray = np.where(signal > threshold, 1.0, np.where(signal < -threshold, -1.0, 0.0))
    return out


class RegistrySignals:
    """A :class:`StrategyContext` over the model registry: the champion of each named model."""

    def __init__(self, registry: ModelRegistry, ref: str = "champion") -> None:
        self.registry = registry
        self.ref = ref

    def model_signal(self, model_name: str, bars: pd.DataFrame) -> FloatArray:
        loaded = self.registry.load(model_name, self.ref)
        meta = loaded.meta
        return model_signal(loaded.model, bars, meta.feature_set, meta.scale, meta.error_scale or None)


@register_strategy(
    "ml_predictive",
    params=[
        ParamSpec("model_name", str, required=True, description="registered model (its champion is used)"),
        ParamSpec(
            "threshold", float, 0.2, description="trade when |signal| exceeds it", minimum=0, maximum=1
        ),
        ParamSpec(
            "position_size",
            float,
            None,
            description="fraction of equity committed (overrides the backtest setting)",
            minimum=0.0,
            maximum=1.0,
            config_field="position_size",
        ),
        ParamSpec(
            "stop_loss_pct",
            float,
            None,
            description="stop-loss as a fraction of the entry price (overrides the backtest setting)",
            minimum=0.0,
            maximum=1.0,
            config_field="stop_loss",
        ),
    ],
    description="Long when the model's signal > threshold, short (flat unless allowed) when < -threshold.",
    needs_context=True,
)
def ml_predictive(bars: pd.DataFrame, params: dict[str, Any], context: StrategyContext | None) -> FloatArray:
    if context is None:
        raise InvalidRequestError(
            "ml_predictive needs a model context (RegistrySignals) to read signals from"
        )
    signal = np.asarray(context.model_signal(params["model_name"], bars), dtype=np.float64)
    if signal.shape != (len(bars),):
        raise InvalidRequestError(f"model signal must have one value per bar, got shape {signal.shape}")
    return signal_targets(signal, params["threshold"])
