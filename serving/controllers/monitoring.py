"""/api/v1/monitoring: numbers from the prediction, request and error logs (a user sees their own)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_201_CREATED

from serving import monitoring
from serving.context import PrincipalDep
from serving.schemas import doc
from serving.schemas import monitoring as a
from serving.schemas import monitoring_examples as ex
from serving.services import ServicesDep

__all__ = ["MonitoringController"]


class MonitoringController(Controller):
    path = "/api/v1/monitoring"
    tags = ["monitoring"]

    @get(
        "/system",
        summary="API calls, predictions, errors, response time",
        responses=doc(a.SystemUsage, ex.SYSTEM_USAGE, 401),
        sync_to_thread=True,
    )
    def system(self, services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
        services.log_writer.flush()
        with services.database.session() as session:
            return monitoring.system(session, principal.scope_user_id, services.started_at)

    @get(
        "/models/{model_name:str}",
        summary="Prediction statistics of one model",
        responses=doc(a.ModelUsage, ex.MODEL_USAGE, 400, 401),
        sync_to_thread=True,
    )
    def model(
        self, services: ServicesDep, principal: PrincipalDep, model_name: FromPath[str]
    ) -> dict[str, Any]:
        services.log_writer.flush()
        with services.database.session() as session:
            return monitoring.model(session, model_name, principal.scope_user_id)

    @get(
        "/dashboard",
        summary="Everything at once",
        responses=doc(a.Dashboard, ex.DASHBOARD, 401),
        sync_to_thread=True,
    )
    def dashboard(self, services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
        services.log_writer.flush()
        with services.database.session() as session:
            return monitoring.dashboard(session, principal.scope_user_id, services.started_at)

    @get(
        "/predictions/recent",
        summary="The newest predictions",
        responses=doc(a.RecentPredictions, ex.RECENT_PREDICTIONS, 400, 401),
        sync_to_thread=True,
    )
    def recent_predictions(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> dict[str, Any]:
        services.log_writer.flush()
        with services.database.session() as session:
            rows = monitoring.recent_predictions(session, limit, principal.scope_user_id)
        return {"predictions": rows, "count": len(rows)}

    @get(
        "/errors/recent",
        summary="The newest errors",
        responses=doc(a.RecentErrors, ex.RECENT_ERRORS, 400, 401),
        sync_to_thread=True,
    )
    def recent_errors(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        limit: int = Parameter(default=50, ge=1, le=1000),
    ) -> dict[str, Any]:
        services.log_writer.flush()
        with services.database.session() as session:
            rows = monitoring.recent_errors(session, limit, principal.scope_user_id)
        return {"errors": rows, "count": len(rows)}

    @post(
        "/save",
        status_code=HTTP_201_CREATED,
        summary="Save the dashboard to disk",
        responses=doc(a.SavedSnapshot, ex.SAVED_SNAPSHOT, 401, status=201, description="The saved file"),
        sync_to_thread=True,
    )
    def save(self, services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
        services.log_writer.flush()
        with services.database.transaction() as session:
            saved = monitoring.save_snapshot(
                services.settings, session, principal.scope_user_id, started_at=services.started_at
            )
        return {"status": "success", **saved}

    @get(
        "/history",
        summary="Saved metric snapshots",
        responses=doc(a.SnapshotList, ex.SNAPSHOTS, 401),
        sync_to_thread=True,
    )
    def history(self, services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
        with services.database.session() as session:
            files = monitoring.history(session, principal.scope_user_id)
        return {"files": files, "count": len(files)}
