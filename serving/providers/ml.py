"""What the ML routes (/api/ml) need: the prediction log (read after the buffered log is flushed,
scoped to the caller unless an admin asks), the registered models' summaries, and the model
routes' ownership rule, training guard and job queue for retraining."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.ml_overview import (
    estimated_duration,
    ml_performance,
    recent_predictions,
    refuse_duplicate,
    retrain_params,
    training_in_flight,
)
from pipelines.db import BufferedLogWriter, Database
from pipelines.jobs.records import JobInfo
from serving.context import Principal
from serving.providers.models import ModelsProvider
from serving.providers.wiring import authenticated, provides

__all__ = ["ML", "MlDep", "MlProvider"]


class MlProvider:
    def __init__(self, *, database: Database, log_writer: BufferedLogWriter, models: ModelsProvider) -> None:
        self._database = database
        self._log_writer = log_writer
        self._models = models

    def predictions(
        self, principal: Principal, *, limit: int, symbol: str | None, model_type: str | None
    ) -> list[dict[str, Any]]:
        """The caller's newest predictions; ``model_type``: a registered model's name or a model kind."""
        names = None
        if model_type is not None:
            summaries = self._models.predictions.resolver.summaries()
            names = {model_type, *(s.name for s in summaries if s.kind == model_type)}
        self._log_writer.flush()
        with self._database.session() as session:
            return recent_predictions(
                session, limit=limit, user_id=principal.scope_user_id, symbol=symbol, models=names
            )

    def performance(self, principal: Principal) -> dict[str, Any]:
        summaries = self._models.predictions.resolver.summaries()
        self._log_writer.flush()
        with self._database.session() as session:
            return ml_performance(session, summaries, self._models.training.active(), principal.scope_user_id)

    def retrain(self, principal: Principal, model_name: str, *, force: bool) -> tuple[JobInfo, str | None]:
        """Queue a training of ``model_name`` like its serving version (its owner or an admin);
        the job and the estimated duration (the last training's)."""
        params = retrain_params(self._models.registry.tracker, model_name)
        owners, actor = self._models.ownership(principal)
        with owners.training(model_name, actor):
            with self._database.session() as session:
                queued = training_in_flight(session, model_name)
            training_now = model_name in self._models.training.active()
            refuse_duplicate(model_name, training_now=training_now, queued=queued, force=force)
            job = self._models.jobs.submit("training", params, principal.user_id)
        summary = next(
            (s for s in self._models.predictions.resolver.summaries() if s.name == model_name), None
        )
        return job, estimated_duration(summary.training_seconds if summary is not None else None)


MlDep = NamedDependency[MlProvider]


def _provide(state: State) -> MlProvider:
    provider: MlProvider = state.container.ml_provider
    return provider


def _principal(ml: MlDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


ML = provides("ml", _provide, _principal)
"""The dependencies of the ML controller: ``ml: MlDep`` and ``principal``."""
