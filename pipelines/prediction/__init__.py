"""Serving predictions of registered models: one symbol, batches, ensembles, signal histories."""

from __future__ import annotations

from pipelines.prediction.calls import InProcessCaller, ModelCaller
from pipelines.prediction.ensemble import MAX_BATCH_SYMBOLS, MAX_ENSEMBLE_MODELS, normalize_weights
from pipelines.prediction.features import FeatureCache, FeatureRows, FeatureTable
from pipelines.prediction.predictor import MAX_HISTORY_DAYS, Predictor
from pipelines.prediction.resolve import ModelResolver
from pipelines.prediction.results import (
    BatchError,
    BatchPrediction,
    EnsembleMember,
    EnsemblePrediction,
    ForecastStep,
    Prediction,
    SignalHistory,
    SignalPoint,
)
from pipelines.prediction.signals import SignalRule

__all__ = [
    "MAX_BATCH_SYMBOLS",
    "MAX_ENSEMBLE_MODELS",
    "MAX_HISTORY_DAYS",
    "BatchError",
    "BatchPrediction",
    "EnsembleMember",
    "EnsemblePrediction",
    "FeatureCache",
    "FeatureRows",
    "FeatureTable",
    "ForecastStep",
    "InProcessCaller",
    "ModelCaller",
    "ModelResolver",
    "Prediction",
    "Predictor",
    "SignalHistory",
    "SignalPoint",
    "SignalRule",
    "normalize_weights",
]
