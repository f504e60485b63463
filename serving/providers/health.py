"""What the probe and information routes (/health*, /info, /api/v1/health, /metrics) need: the
backing-service checks (database, Redis through a client of their own, the MLflow registry, the
market folder), cached for a few seconds; uptime and configuration; the Prometheus text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy import text

from pipelines.backtest.strategies import list_strategies
from pipelines.data.storage import storage_health
from pipelines.db import BufferedLogWriter, Database
from pipelines.models.base import ModelKind
from pipelines.models.registry import ModelRegistry
from pipelines.models.summaries import list_models
from pipelines.redaction import redact_url
from pipelines.settings import Settings
from serving.events import EventRouter
from serving.live import LiveService
from serving.metrics import ApiMetrics
from serving.monitoring import requests_per_minute
from serving.probes import HealthCache
from serving.system import system_stats

__all__ = ["HEALTH", "HealthDep", "HealthProvider"]


class HealthProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        log_writer: BufferedLogWriter,
        registry: ModelRegistry,
        metrics: ApiMetrics,
        live: LiveService,
        events: EventRouter,
        started_at: datetime,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.started_at = started_at
        self._database = database
        self._log_writer = log_writer
        self._metrics = metrics
        self._live = live
        self._events = events
        self.checks = HealthCache(self._probe_checks, settings.serving.health_cache_seconds)
        """The cached checks with the system figures (``await checks.get()``)."""

    def check_health(self) -> dict[str, Any]:
        """Each backing service's state; ``status`` is "healthy" only when all of them are."""
        services: dict[str, str] = {}
        try:
            with self._database.session() as session:
                session.execute(text("SELECT 1"))
            services["database"] = "healthy"
        except Exception as exc:
            services["database"] = f"unhealthy: {type(exc).__name__}"
        services["cache"] = self._cache_health()
        active = 0
        try:
            summaries = list_models(self.registry.tracker)
            self._metrics.observe_models(summaries)
            active = sum(1 for s in summaries if s.champion_version is not None)
            services["ml_engine"] = "healthy"
        except Exception as exc:
            services["ml_engine"] = f"unhealthy: {type(exc).__name__}"
        services["market_data"] = storage_health(self.settings)
        ok = all(v == "healthy" for v in services.values())
        return {"status": "healthy" if ok else "degraded", "services": services, "active_models": active}

    def _probe_checks(self) -> dict[str, Any]:
        return {**self.check_health(), "system": system_stats(self.settings.home)}

    def _cache_health(self) -> str:
        if not self.settings.redis_url:
            return "healthy"
        try:
            client = redis.Redis.from_url(
                self.settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            try:
                client.ping()
            finally:
                client.close()
            return "healthy"
        except Exception as exc:
            return f"unhealthy: {type(exc).__name__}"

    def requests_per_minute(self) -> int:
        self._log_writer.flush()
        with self._database.session() as session:
            return int(requests_per_minute(session))

    def describe(self) -> dict[str, Any]:
        """Configuration a user may see (no secrets: URLs are shown without their passwords)."""
        s = self.settings
        return {
            "configuration": {
                "home": str(s.home),
                "database": redact_url(s.resolved_database_url()),
                "mlflow_tracking_uri": redact_url(s.resolved_mlflow_uri()),
                "redis": redact_url(s.redis_url) if s.redis_url else None,
                "rate_limits_per_window": dict(s.limits.rate_limits),
                "rate_limit_window_seconds": s.limits.rate_limit_window_seconds,
                "cors_origins": list(s.serving.cors_origins),
                "stock_source": s.data.stock_source,
                "crypto_source": s.data.crypto_source,
            },
            "models_loaded": [
                {"model_name": m.name, "version": m.version, "load_seconds": round(m.load_seconds, 4)}
                for m in self.registry.loaded()
            ],
            "strategies": [st["name"] for st in list_strategies()],
            "model_types": [k.value for k in ModelKind],
        }

    def uptime_seconds(self) -> float:
        return (datetime.now(UTC) - self.started_at).total_seconds()

    def prometheus_text(self) -> bytes:
        """The metrics in Prometheus text format, with the gauges read now (models, streams, drops)."""
        loaded = self.registry.loaded()
        self._metrics.models_loaded.set(len(loaded))
        for model in loaded:
            self._metrics.model_load.labels(model.name, model.version).set(model.load_seconds)
        self._metrics.log_drops.set(self._log_writer.stats.dropped)
        kinds: dict[str, int] = {"prices": 0, "predictions": 0}
        for topic, count in self._live.hub.topic_counts().items():
            kind = topic.split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + count
        for kind, count in kinds.items():
            self._metrics.stream_subscriptions.labels(kind).set(count)
        self._metrics.sse_streams.set(len(self._events.job_streams))
        return self._metrics.render()


HealthDep = NamedDependency[HealthProvider]


def _provide(state: State) -> HealthProvider:
    provider: HealthProvider = state.container.health_provider
    return provider


HEALTH = {"health": Provide(_provide, sync_to_thread=False)}
"""The dependency of the probe and information handlers (all public): ``health: HealthDep``."""
