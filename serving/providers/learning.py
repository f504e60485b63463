"""What the training platform's routes (/training, /models) need: the training jobs and the trained
models of the app container."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.learned_models import TrainedModels
from pipelines.app.learning import TrainingService
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["TRAINED_MODELS", "TRAINING", "TrainedModelsDep", "TrainingDep"]

TrainingDep = NamedDependency[TrainingService]
TrainedModelsDep = NamedDependency[TrainedModels]


def _training(state: State) -> TrainingService:
    provider: TrainingService = state.container.training
    return provider


def _models(state: State) -> TrainedModels:
    provider: TrainedModels = state.container.trained_models
    return provider


def _training_principal(training: TrainingDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


def _models_principal(trained: TrainedModelsDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


TRAINING = provides("training", _training, _training_principal)
TRAINED_MODELS = provides("trained", _models, _models_principal)
