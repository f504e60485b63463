"""What the model and prediction routes (/api/v1/models, /api/v1/predict, /api/v1/predictions)
need: the registry and the prediction service, the prediction log, model ownership, the training
guard that holds across workers, job submission and webhook events."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.db import Database, TrainingGuard
from pipelines.jobs import JobQueue
from pipelines.models.ownership import Actor, ModelOwners
from pipelines.models.registry import ModelRegistry
from pipelines.prediction import Predictor
from pipelines.settings import Settings
from serving.context import Principal
from serving.events import EventRouter
from serving.observation import Observer
from serving.providers.wiring import authenticated, provides

__all__ = ["MODELS", "ModelsDep", "ModelsProvider"]


class ModelsProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        registry: ModelRegistry,
        predictions: Predictor,
        jobs: JobQueue,
        training: TrainingGuard,
        observer: Observer,
        events: EventRouter,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.predictions = predictions
        self.jobs = jobs
        self.training = training
        """One training per model name across every worker (``hold(name)``; ``active()``)."""
        self.observer = observer
        self._owners = ModelOwners(database, registry.tracker)
        self._events = events

    @property
    def owners(self) -> ModelOwners:
        """The model owners' table (who may train, reload or delete a model)."""
        return self._owners

    def ownership(self, principal: Principal) -> tuple[ModelOwners, Actor]:
        """The model owners' table and the caller as an actor on it."""
        return self._owners, Actor(principal.user_id, principal.is_admin)

    def publish(self, event: str, payload: dict[str, Any], user_id: str) -> None:
        """Notify the user's webhooks of ``event`` (never fails the request)."""
        self._events.publish(event, payload, user_id)


ModelsDep = NamedDependency[ModelsProvider]


def _provide(state: State) -> ModelsProvider:
    provider: ModelsProvider = state.container.models_provider
    return provider


def _principal(models: ModelsDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


MODELS = provides("models", _provide, _principal)
"""The dependencies of the model and prediction controllers: ``models: ModelsDep`` and ``principal``."""
