"""/api/health, /api/status and /api/metrics[/trading|/ml|/system]: the probe, the system's state
and the Prometheus registry of /metrics, whole or by group.

/api/health and /api/metrics* are probes and scrapes like /health and /metrics (never rate-limited
nor authenticated; /api/metrics* need the metrics token when one is set); /api/status needs a
caller (Bearer token or X-API-Key).
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get

from serving.controllers.config import ConfigController
from serving.controllers.health import VERSION, check_metrics_token
from serving.controllers.ml import MlController
from serving.providers.status import STATUS, StatusDep, StatusProvider
from serving.responses import now_stamp, shaped, success
from serving.responses import status as s
from serving.schemas import doc, doc_text
from serving.schemas import status_examples as ex

__all__ = ["status_handlers"]

_PROBE = {"public": True, "probe": True}
_PROMETHEUS = MediaType.TEXT + "; version=0.0.4"
_TOKEN = " Needs 'Authorization: Bearer <metrics token>' when the metrics_token setting is set."


@get(
    "/api/health",
    dependencies=STATUS,
    opt=_PROBE,
    tags=["health"],
    summary="Health check of the backend, database and Redis",
    description="Backing-service checks are refreshed at most every few seconds; `redis` is "
    "`not_configured` when no Redis URL is set.",
    responses=doc(ex.API_PROBE_HEALTH),
)
async def api_probe_health(status: StatusDep) -> s.ProbeHealth:
    checks = await status.health.checks.get()
    services = checks["services"]
    redis = services["cache"] if status.settings.redis_url else "not_configured"
    return shaped(
        s.ProbeHealth,
        {
            "status": checks["status"],
            "version": VERSION,
            "timestamp": now_stamp(),
            "services": {**services, "backend": "healthy", "redis": redis},
        },
    )


@get(
    "/api/status",
    dependencies=STATUS,
    tags=["health"],
    summary="Uptime, version, environment, database, Redis and trading",
    responses=doc(ex.SYSTEM_STATUS, 401),
    sync_to_thread=True,
)
def api_status(status: StatusDep) -> s.StatusAnswer:
    data = {**status.status(), "version": VERSION}
    return shaped(s.StatusAnswer, success(data))


def _scrape(status: StatusProvider, request: Request[Any, Any, Any], group: str | None) -> Response[bytes]:
    check_metrics_token(status.health, request.headers.get("authorization"))
    return Response(status.prometheus_text(group), media_type=_PROMETHEUS)


@get(
    "/api/metrics",
    dependencies=STATUS,
    opt=_PROBE,
    tags=["health"],
    summary="Prometheus metrics: HTTP, trading, ML, process and host",
    description="The registry of /metrics." + _TOKEN,
    responses=doc_text(_PROMETHEUS, ex.PROMETHEUS_ALL, "Prometheus text exposition format", 401),
    sync_to_thread=True,
)
def api_metrics(status: StatusDep, request: Request[Any, Any, Any]) -> Response[bytes]:
    return _scrape(status, request, None)


@get(
    "/api/metrics/trading",
    dependencies=STATUS,
    opt=_PROBE,
    tags=["health"],
    summary="Prometheus metrics of trading: errors, DCA orders, open trades and volume",
    description="Read from the trade store at each scrape (every worker answers the same): rejected "
    "orders by "
    "reason and broker, DCA attempts placed and refused by reason, open trades and their notional." + _TOKEN,
    responses=doc_text(_PROMETHEUS, ex.TRADING_PROMETHEUS, "Prometheus text exposition format", 401),
    sync_to_thread=True,
)
def api_metrics_trading(status: StatusDep, request: Request[Any, Any, Any]) -> Response[bytes]:
    return _scrape(status, request, "trading")


@get(
    "/api/metrics/ml",
    dependencies=STATUS,
    opt=_PROBE,
    tags=["health"],
    summary="Prometheus metrics of ML: predictions, model accuracy, training duration, loaded models",
    description="Accuracy and training duration are each registered model's serving version's "
    "(its validation directional accuracy and its training run's seconds)." + _TOKEN,
    responses=doc_text(_PROMETHEUS, ex.ML_PROMETHEUS, "Prometheus text exposition format", 401),
    sync_to_thread=True,
)
def api_metrics_ml(status: StatusDep, request: Request[Any, Any, Any]) -> Response[bytes]:
    return _scrape(status, request, "ml")


@get(
    "/api/metrics/system",
    dependencies=STATUS,
    opt=_PROBE,
    tags=["health"],
    summary="Prometheus metrics of this process and the host: memory, CPU, disk",
    description="Read when scraped." + _TOKEN,
    responses=doc_text(_PROMETHEUS, ex.SYSTEM_PROMETHEUS, "Prometheus text exposition format", 401),
    sync_to_thread=True,
)
def api_metrics_system(status: StatusDep, request: Request[Any, Any, Any]) -> Response[bytes]:
    return _scrape(status, request, "system")


status_handlers: list[Any] = [
    api_probe_health,
    api_status,
    api_metrics,
    api_metrics_trading,
    api_metrics_ml,
    api_metrics_system,
    MlController,
    ConfigController,
]
