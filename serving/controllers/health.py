"""/, /health, /health/live, /health/ready, /info, /api/v1/health and /metrics: public, cheap,
never touching a model.

The probes (/health, /health/live, /health/ready) and the Prometheus scrape (/metrics) are never
rate-limited nor authenticated (``opt["probe"]``); their backing-service checks are cached
(``serving/probes.py``). /metrics may be closed by the ``metrics_token`` setting.
"""

from __future__ import annotations

import hmac
from typing import Any

import anyio.to_thread
from litestar import MediaType, Request, Response, get

from pipelines.errors import AuthenticationError
from serving.context import principal_of
from serving.errors import ApiError
from serving.providers.health import HEALTH, HealthDep, HealthProvider
from serving.responses import admin as a
from serving.responses import now_stamp, shaped
from serving.schemas import admin_examples as ex
from serving.schemas import doc, doc_text
from serving.system import platform_info, system_stats

__all__ = ["check_metrics_token", "health_handlers"]

_PUBLIC = {"public": True}
_PROBE = {"public": True, "probe": True}
_READY_NEEDS = ("database", "ml_engine", "cache")
VERSION = "0.1.0"
_PROMETHEUS = MediaType.TEXT + "; version=0.0.4"


@get(
    "/",
    opt=_PUBLIC,
    tags=["health"],
    summary="API information",
    responses=doc(ex.ROOT),
    sync_to_thread=False,
)
def root() -> a.ApiIndex:
    return shaped(
        a.ApiIndex,
        {
            "message": "Welcome to the Deep Learning Platform",
            "name": "Tradeforge API",
            "version": VERSION,
            "status": "running",
            "description": "ML trading platform: predictions, models, market data, backtests, monitoring.",
            "docs": "/docs",
            "redoc": "/redoc",
            "openapi": "/openapi.json",
            "health": "/health",
            "metrics": "/metrics",
            "endpoints": {
                "auth": "/auth/login",
                "models": "/api/v1/models",
                "predictions": "/api/v1/predictions/predict",
                "predict": "/api/v1/predict",
                "market": "/api/v1/market/quote/{symbol}",
                "backtest": "/api/v1/backtest/run",
                "monitoring": "/api/v1/monitoring/system",
                "training": "/training/start",
                "trained_models": "/models",
            },
            "timestamp": now_stamp(),
        },
    )


@get(
    "/health",
    dependencies=HEALTH,
    opt=_PROBE,
    tags=["health"],
    summary="Health check with system metrics",
    description="Backing-service checks and system figures are refreshed at most every few seconds.",
    responses=doc(ex.HEALTH),
)
async def health(health: HealthDep) -> a.Health:
    checks = await health.checks.get()
    return shaped(
        a.Health,
        {
            "status": checks["status"],
            "timestamp": now_stamp(),
            "version": VERSION,
            "uptime_seconds": round(health.uptime_seconds(), 3),
            "models_loaded": len(health.registry.loaded()),
            "services": checks["services"],
            "system": checks["system"],
        },
    )


@get(
    "/health/live",
    opt=_PROBE,
    tags=["health"],
    summary="Liveness probe",
    description="200 while the process serves requests; touches no backing service.",
    responses=doc(ex.LIVENESS),
    sync_to_thread=False,
)
def live() -> a.Liveness:
    return shaped(a.Liveness, {"status": "alive", "version": VERSION, "timestamp": now_stamp()})


@get(
    "/health/ready",
    dependencies=HEALTH,
    opt=_PROBE,
    tags=["health"],
    summary="Readiness probe",
    description=(
        "200 when the database, the MLflow registry and the cache answer (checks refreshed at most "
        "every few seconds); 503 with the failing services otherwise."
    ),
    responses=doc(ex.READINESS, 503),
)
async def ready(health: HealthDep) -> a.Readiness:
    checks = (await health.checks.get())["services"]
    failing = {name: checks[name] for name in _READY_NEEDS if checks[name] != "healthy"}
    if failing:
        raise ApiError(503, "SERVICE_UNAVAILABLE", f"not ready: {', '.join(failing)} unhealthy", failing)
    return shaped(
        a.Readiness,
        {"status": "ready", "timestamp": now_stamp(), "services": {n: checks[n] for n in _READY_NEEDS}},
    )


@get(
    "/info",
    dependencies=HEALTH,
    opt=_PUBLIC,
    tags=["health"],
    summary="System information",
    description=(
        "Name, version, uptime, loaded models, strategies and model types; an admin also sees the "
        "configuration (URLs without credentials) and the host."
    ),
    responses=doc(ex.INFO),
    sync_to_thread=True,
)
def info(health: HealthDep, request: Request[Any, Any, Any]) -> a.Info:
    described = health.describe()
    body = {
        "name": "Tradeforge API",
        "version": VERSION,
        "started_at": health.started_at.isoformat(),
        "uptime_seconds": round(health.uptime_seconds(), 3),
        "models_loaded": described["models_loaded"],
        "strategies": described["strategies"],
        "model_types": described["model_types"],
        "timestamp": now_stamp(),
    }
    principal = principal_of(request.scope)
    if principal is not None and principal.is_admin:
        body["configuration"] = described["configuration"]
        body["system"] = {**platform_info(), **system_stats(health.settings.home)}
    return shaped(a.Info, body)


@get(
    "/api/v1/health",
    dependencies=HEALTH,
    opt=_PUBLIC,
    tags=["health"],
    summary="System health check",
    responses=doc(ex.API_HEALTH),
)
async def api_health(health: HealthDep) -> a.ApiHealth:
    checks = await health.checks.get()
    return shaped(
        a.ApiHealth,
        {
            "status": checks["status"],
            "timestamp": now_stamp(),
            "services": checks["services"],
            "metrics": {
                "uptime_seconds": round(health.uptime_seconds(), 3),
                "active_models": checks["active_models"],
                "requests_per_minute": await anyio.to_thread.run_sync(health.requests_per_minute),
            },
        },
    )


@get(
    "/metrics",
    dependencies=HEALTH,
    opt=_PROBE,
    tags=["health"],
    summary="Prometheus metrics",
    description="Needs 'Authorization: Bearer <metrics token>' when the metrics_token setting is set.",
    responses=doc_text(_PROMETHEUS, ex.PROMETHEUS, "Prometheus text exposition format", 401),
    sync_to_thread=False,
)
def metrics(health: HealthDep, request: Request[Any, Any, Any]) -> Response[bytes]:
    check_metrics_token(health, request.headers.get("authorization"))
    return Response(health.prometheus_text(), media_type=_PROMETHEUS)


def check_metrics_token(health: HealthProvider, authorization: str | None) -> None:
    expected = health.settings.serving.metrics_token
    if not expected:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise AuthenticationError("/metrics needs 'Authorization: Bearer <metrics token>'")


health_handlers = [root, health, live, ready, info, api_health, metrics]
