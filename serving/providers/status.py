"""What the status and metrics routes under /api need: the probe checks and uptime of the health
routes, the database's connections, Redis's memory and keys, the trading figures, and the
Prometheus registry by group (with each registered model's gauges read first)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import redis
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from pipelines.app.trading_metrics import trading_figures
from pipelines.db import Database
from pipelines.db.stats import connection_stats
from pipelines.prediction import Predictor
from pipelines.settings import Settings
from serving.metrics import ApiMetrics
from serving.monitoring import format_duration
from serving.providers.health import HealthProvider

__all__ = ["STATUS", "StatusDep", "StatusProvider"]


class StatusProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        health: HealthProvider,
        metrics: ApiMetrics,
        predictions: Predictor,
    ) -> None:
        self.settings = settings
        self.health = health
        self._database = database
        self._metrics = metrics
        self._predictions = predictions

    def status(self) -> dict[str, Any]:
        """Uptime, version, environment and the database, Redis and trading figures."""
        uptime = self.health.uptime_seconds()
        return {
            "uptime": format_duration(uptime),
            "uptime_seconds": round(uptime, 3),
            "environment": self.settings.serving.environment,
            "services": {
                "database": connection_stats(self._database),
                "redis": self.redis_stats(),
                "trading": self.trading(),
            },
        }

    def redis_stats(self) -> dict[str, Any]:
        """Redis's state, memory in use and key count (``not_configured`` without a Redis URL)."""
        if not self.settings.redis_url:
            return {"status": "not_configured", "memory_usage": None, "keys": None}
        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            memory: dict[str, Any] = client.info("memory")
            keys = int(client.dbsize())
        except Exception as exc:
            return {"status": f"unhealthy: {type(exc).__name__}", "memory_usage": None, "keys": None}
        finally:
            client.close()
        return {"status": "healthy", "memory_usage": memory.get("used_memory_human"), "keys": keys}

    def trading(self) -> dict[str, Any]:
        """Open trades and the notional of the active ones, from the trade store."""
        figures = trading_figures(self._database)
        return {
            "status": "active" if figures.active_trades else "idle",
            "active_trades": figures.active_trades,
            "total_volume": f"{figures.volume.quantize(Decimal('0.01'))}",
        }

    def prometheus_text(self, group: str | None) -> bytes:
        """The registry's text (one group's families, or all), each model's gauges read first."""
        self._metrics.observe_models(self._predictions.resolver.summaries())
        everything = self.health.prometheus_text()  # also reads the model, stream and log gauges
        return everything if group is None else self._metrics.render(group)


StatusDep = NamedDependency[StatusProvider]


def _provide(state: State) -> StatusProvider:
    provider: StatusProvider = state.container.status_provider
    return provider


STATUS = {"status": Provide(_provide, sync_to_thread=False)}
"""The dependency of the status and metrics handlers: ``status: StatusDep``."""
