"""/, /health, /info, /api/v1/health and /metrics: public, cheap, never touching a model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import MediaType, Response, get

from pipelines.system import platform_info, system_stats
from serving.schemas import admin as a
from serving.schemas import admin_examples as ex
from serving.schemas import doc, doc_text
from serving.services import ServicesDep

__all__ = ["health_handlers"]

_PUBLIC = {"public": True}
VERSION = "0.1.0"
_PROMETHEUS = MediaType.TEXT + "; version=0.0.4"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@get(
    "/",
    opt=_PUBLIC,
    tags=["health"],
    summary="API information",
    responses=doc(a.ApiIndex, ex.ROOT),
    sync_to_thread=False,
)
def root() -> dict[str, Any]:
    return {
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
        },
        "timestamp": _now(),
    }


@get(
    "/health",
    opt=_PUBLIC,
    tags=["health"],
    summary="Health check with system metrics",
    responses=doc(a.Health, ex.HEALTH),
    sync_to_thread=True,
)
def health(services: ServicesDep) -> dict[str, Any]:
    checks = services.check_health()
    return {
        "status": checks["status"],
        "timestamp": _now(),
        "version": VERSION,
        "uptime_seconds": round(services.uptime_seconds(), 3),
        "models_loaded": len(services.registry.loaded()),
        "services": checks["services"],
        "system": system_stats(services.settings.home),
    }


@get(
    "/info",
    opt=_PUBLIC,
    tags=["health"],
    summary="Detailed system information",
    responses=doc(a.Info, ex.INFO),
    sync_to_thread=True,
)
def info(services: ServicesDep) -> dict[str, Any]:
    return {
        "name": "Tradeforge API",
        "version": VERSION,
        "started_at": services.started_at.isoformat(),
        "uptime_seconds": round(services.uptime_seconds(), 3),
        **services.describe(),
        "system": {**platform_info(), **system_stats(services.settings.home)},
        "timestamp": _now(),
    }


@get(
    "/api/v1/health",
    opt=_PUBLIC,
    tags=["health"],
    summary="System health check",
    responses=doc(a.ApiHealth, ex.API_HEALTH),
    sync_to_thread=True,
)
def api_health(services: ServicesDep) -> dict[str, Any]:
    checks = services.check_health()
    return {
        "status": checks["status"],
        "timestamp": _now(),
        "services": checks["services"],
        "metrics": {
            "uptime_seconds": round(services.uptime_seconds(), 3),
            "active_models": checks["active_models"],
            "requests_per_minute": services.requests_per_minute(),
        },
    }


@get(
    "/metrics",
    opt=_PUBLIC,
    tags=["health"],
    summary="Prometheus metrics",
    responses=doc_text(_PROMETHEUS, ex.PROMETHEUS, "Prometheus text exposition format"),
    sync_to_thread=False,
)
def metrics(services: ServicesDep) -> Response[bytes]:
    loaded = services.registry.loaded()
    services.metrics.models_loaded.set(len(loaded))
    for model in loaded:
        services.metrics.model_load.labels(model.name, model.version).set(model.load_seconds)
    services.metrics.log_drops.set(services.log_writer.stats.dropped)
    kinds: dict[str, int] = {"prices": 0, "predictions": 0}
    for topic, count in services.live.hub.topic_counts().items():
        kind = topic.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + count
    for kind, count in kinds.items():
        services.metrics.stream_subscriptions.labels(kind).set(count)
    services.metrics.sse_streams.set(len(services.job_streams))
    return Response(services.metrics.render(), media_type=MediaType.TEXT + "; version=0.0.4")


health_handlers = [root, health, info, api_health, metrics]
