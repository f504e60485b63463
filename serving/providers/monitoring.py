"""What the monitoring routes (/api/v1/monitoring) need: figures from the prediction, request and
error logs, each read in its own unit of work after the buffered log is flushed (so a caller sees
their own last requests), scoped to the caller unless an admin asks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.db import BufferedLogWriter, Database
from pipelines.settings import Settings
from serving.context import Principal
from serving.monitoring import (
    dashboard,
    history,
    model,
    recent_errors,
    recent_predictions,
    save_snapshot,
    system,
)
from serving.providers.wiring import authenticated, provides

__all__ = ["MONITORING", "MonitoringDep", "MonitoringProvider"]


class MonitoringProvider:
    def __init__(
        self, *, settings: Settings, database: Database, log_writer: BufferedLogWriter, started_at: datetime
    ) -> None:
        self._settings = settings
        self._database = database
        self._log_writer = log_writer
        self._started_at = started_at

    def system(self, principal: Principal) -> dict[str, Any]:
        self._log_writer.flush()
        with self._database.session() as session:
            return system(session, principal.scope_user_id, self._started_at)

    def model(self, principal: Principal, model_name: str) -> dict[str, Any]:
        self._log_writer.flush()
        with self._database.session() as session:
            return model(session, model_name, principal.scope_user_id)

    def dashboard(self, principal: Principal) -> dict[str, Any]:
        self._log_writer.flush()
        with self._database.session() as session:
            return dashboard(session, principal.scope_user_id, self._started_at)

    def recent_predictions(self, principal: Principal, limit: int) -> list[dict[str, Any]]:
        self._log_writer.flush()
        with self._database.session() as session:
            return recent_predictions(session, limit, principal.scope_user_id)

    def recent_errors(self, principal: Principal, limit: int) -> list[dict[str, Any]]:
        self._log_writer.flush()
        with self._database.session() as session:
            return recent_errors(session, limit, principal.scope_user_id)

    def save(self, principal: Principal) -> dict[str, Any]:
        """Write the caller's dashboard to a snapshot file (and its row)."""
        self._log_writer.flush()
        with self._database.transaction() as session:
            return save_snapshot(
                self._settings, session, principal.scope_user_id, started_at=self._started_at
            )

    def history(self, principal: Principal) -> list[dict[str, Any]]:
        with self._database.session() as session:
            return history(session, principal.scope_user_id)


MonitoringDep = NamedDependency[MonitoringProvider]


def _provide(state: State) -> MonitoringProvider:
    provider: MonitoringProvider = state.container.monitoring_provider
    return provider


def _principal(monitoring: MonitoringDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


MONITORING = provides("monitoring", _provide, _principal)
"""The dependencies of the monitoring controller: ``monitoring: MonitoringDep`` and ``principal``."""
