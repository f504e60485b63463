"""/api/v1/monitoring: numbers from the prediction, request and error logs (a user sees their own)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_201_CREATED

from serving.context import PrincipalDep
from serving.providers.monitoring import MONITORING, MonitoringDep
from serving.responses import monitoring as a
from serving.responses import shaped
from serving.schemas import doc
from serving.schemas import monitoring_examples as ex

__all__ = ["MonitoringController"]


class MonitoringController(Controller):
    path = "/api/v1/monitoring"
    tags = ["monitoring"]
    dependencies = MONITORING

    @get(
        "/system",
        summary="API calls, predictions, errors, response time",
        responses=doc(ex.SYSTEM_USAGE, 401),
        sync_to_thread=True,
    )
    def system(self, monitoring: MonitoringDep, principal: PrincipalDep) -> a.SystemUsage:
        return shaped(a.SystemUsage, monitoring.system(principal))

    @get(
        "/models/{model_name:str}",
        summary="Prediction statistics of one model",
        responses=doc(ex.MODEL_USAGE, 400, 401),
        sync_to_thread=True,
    )
    def model(
        self, monitoring: MonitoringDep, principal: PrincipalDep, model_name: FromPath[str]
    ) -> a.ModelUsage:
        return shaped(a.ModelUsage, monitoring.model(principal, model_name))

    @get(
        "/dashboard",
        summary="Everything at once",
        responses=doc(ex.DASHBOARD, 401),
        sync_to_thread=True,
    )
    def dashboard(self, monitoring: MonitoringDep, principal: PrincipalDep) -> a.Dashboard:
        return shaped(a.Dashboard, monitoring.dashboard(principal))

    @get(
        "/predictions/recent",
        summary="The newest predictions",
        responses=doc(ex.RECENT_PREDICTIONS, 400, 401),
        sync_to_thread=True,
    )
    def recent_predictions(
        self,
        monitoring: MonitoringDep,
        principal: PrincipalDep,
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> a.RecentPredictions:
        rows = monitoring.recent_predictions(principal, limit)
        return shaped(a.RecentPredictions, {"predictions": rows, "count": len(rows)})

    @get(
        "/errors/recent",
        summary="The newest errors",
        responses=doc(ex.RECENT_ERRORS, 400, 401),
        sync_to_thread=True,
    )
    def recent_errors(
        self,
        monitoring: MonitoringDep,
        principal: PrincipalDep,
        limit: int = Parameter(default=50, ge=1, le=1000),
    ) -> a.RecentErrors:
        rows = monitoring.recent_errors(principal, limit)
        return shaped(a.RecentErrors, {"errors": rows, "count": len(rows)})

    @post(
        "/save",
        status_code=HTTP_201_CREATED,
        summary="Save the dashboard to disk",
        responses=doc(ex.SAVED_SNAPSHOT, 401, status=201, description="The saved file"),
        sync_to_thread=True,
    )
    def save(self, monitoring: MonitoringDep, principal: PrincipalDep) -> a.SavedSnapshot:
        saved = monitoring.save(principal)
        return shaped(a.SavedSnapshot, {"status": "success", **saved})

    @get(
        "/history",
        summary="Saved metric snapshots",
        responses=doc(ex.SNAPSHOTS, 401),
        sync_to_thread=True,
    )
    def history(self, monitoring: MonitoringDep, principal: PrincipalDep) -> a.SnapshotList:
        files = monitoring.history(principal)
        return shaped(a.SnapshotList, {"files": files, "count": len(files)})
