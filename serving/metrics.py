"""Prometheus metrics of one app (its own registry: two apps in one process never share counters).

Families by group (``render(group)``; no group: all of them): ``http``, ``trading``, ``ml`` and
``system`` (this process and the host, read when scraped)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from pipelines.app.trading_metrics import TradingFigures

__all__ = ["METRIC_GROUPS", "ApiMetrics"]

log = logging.getLogger("tradeforge.serving")

METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "http": ("tradeforge_http_", "tradeforge_rate_limit"),
    "trading": ("tradeforge_trading_", "tradeforge_active_trades", "tradeforge_dca_"),
    "ml": ("tradeforge_ml_", "tradeforge_predictions", "tradeforge_model_load", "tradeforge_models_loaded"),
    "system": ("process_", "python_", "tradeforge_memory_", "tradeforge_cpu_", "tradeforge_disk_"),
}
"""The family name prefixes of each group of ``/api/metrics/{group}``."""

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApiMetrics:
    """The app's Prometheus registry and every metric it exports, by family."""

    requests: Counter
    latency: Histogram
    predictions: Counter
    model_load: Gauge
    models_loaded: Gauge
    rate_limited: Counter
    rate_limit_degraded: Counter
    stream_subscriptions: Gauge
    sse_streams: Gauge
    slow_consumers: Counter
    log_drops: Gauge
    ml_predictions: Counter
    ml_accuracy: Gauge
    ml_training_duration: Gauge

    def __init__(self, disk_path: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        self._add_http_metrics()
        self._add_model_metrics()
        self._add_limit_metrics()
        self._add_stream_metrics()
        self._add_ml_metrics()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.registry.register(_HostCollector(disk_path))

    def _add_http_metrics(self) -> None:
        """Requests and their latency, by route template."""
        self.requests = Counter(
            "tradeforge_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tradeforge_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def _add_model_metrics(self) -> None:
        """Predictions served and the models held in memory."""
        self.predictions = Counter(
            "tradeforge_predictions_total",
            "Predictions served, by model and recommendation.",
            ["model", "recommendation"],
            registry=self.registry,
        )
        self.model_load = Gauge(
            "tradeforge_model_load_seconds",
            "Seconds it took to load each model version held in memory.",
            ["model", "version"],
            registry=self.registry,
        )
        self.models_loaded = Gauge(
            "tradeforge_models_loaded", "Model versions held in memory.", registry=self.registry
        )

    def _add_limit_metrics(self) -> None:
        """Rate limiting: refusals, and admissions while its store was unreachable."""
        self.rate_limited = Counter(
            "tradeforge_rate_limited_total",
            "Requests refused with 429, by tier.",
            ["tier"],
            registry=self.registry,
        )
        self.rate_limit_degraded = Counter(
            "tradeforge_rate_limit_degraded_total",
            "Requests admitted without counting because the rate-limit store was unreachable.",
            registry=self.registry,
        )

    def _add_stream_metrics(self) -> None:
        """Live streams, slow consumers and dropped log rows of this worker."""
        self.stream_subscriptions = Gauge(
            "tradeforge_stream_subscriptions",
            "Open live subscriptions of this worker by kind: prices, predictions (WebSocket streams) and "
            "the worker's own relays (jobs, auth).",
            ["kind"],
            registry=self.registry,
        )
        self.sse_streams = Gauge(
            "tradeforge_sse_streams", "Open task-event (SSE) streams of this worker.", registry=self.registry
        )
        self.slow_consumers = Counter(
            "tradeforge_ws_slow_consumers_total",
            "WebSocket streams closed (1008) because the client fell too far behind.",
            registry=self.registry,
        )
        self.log_drops = Gauge(
            "tradeforge_log_rows_dropped",
            "Log rows dropped because the writer queue was full.",
            registry=self.registry,
        )

    def _add_ml_metrics(self) -> None:
        """Predictions by model and outcome; each registered model's last evaluation and training time."""
        self.ml_predictions = Counter(
            "tradeforge_ml_predictions_total",
            "Predictions by model and status.",
            ["model_type", "status"],
            registry=self.registry,
        )
        self.ml_accuracy = Gauge(
            "tradeforge_ml_model_accuracy",
            "Validation directional accuracy of each model's serving version.",
            ["model_type"],
            registry=self.registry,
        )
        self.ml_training_duration = Gauge(
            "tradeforge_ml_training_duration_seconds",
            "Seconds each model's serving version took to train.",
            ["model_type"],
            registry=self.registry,
        )

    def watch_trading(self, figures: Callable[[], TradingFigures]) -> None:
        """Export the trading families, read from ``figures()`` (the trade store) at each scrape."""
        self.registry.register(_TradingCollector(figures))

    def observe_models(self, models: Iterable[Any]) -> None:
        """Set the per-model gauges from model summaries (``name``, ``metrics``, ``training_seconds``)."""
        accuracy, duration = self.ml_accuracy, self.ml_training_duration
        accuracy.clear()
        duration.clear()
        for model in models:
            value = model.metrics.get("val_directional_accuracy")
            if value is not None:
                accuracy.labels(model.name).set(value)
            if model.training_seconds is not None:
                duration.labels(model.name).set(model.training_seconds)

    def render(self, group: str | None = None) -> bytes:
        """The text exposition of every family, or of those of one of ``METRIC_GROUPS``."""
        if group is None:
            return generate_latest(self.registry)
        return generate_latest(_Selected(self.registry, METRIC_GROUPS[group]))


class _Selected:
    """The families of ``registry`` whose names start with one of ``prefixes``."""

    def __init__(self, registry: CollectorRegistry, prefixes: Sequence[str]) -> None:
        self._registry = registry
        self._prefixes = tuple(prefixes)

    def collect(self) -> Iterator[Metric]:
        return (m for m in self._registry.collect() if m.name.startswith(self._prefixes))


class _HostCollector(Collector):
    """Host memory and CPU in use, and the disk holding the app's home, read at each scrape."""

    def __init__(self, disk_path: Path | None) -> None:
        self._disk_path = disk_path

    def collect(self) -> Iterator[Metric]:
        memory = psutil.virtual_memory()
        path = self._disk_path if self._disk_path is not None and self._disk_path.exists() else Path.cwd()
        disk = psutil.disk_usage(str(path))
        for name, doc, value in (
            (
                "tradeforge_memory_usage_bytes",
                "Host memory in use, in bytes.",
                memory.total - memory.available,
            ),
            ("tradeforge_memory_total_bytes", "Host memory, in bytes.", memory.total),
            (
                "tradeforge_cpu_usage_percent",
                "Host CPU use since the last scrape, in percent.",
                psutil.cpu_percent(interval=None),
            ),
            ("tradeforge_disk_usage_bytes", "Bytes used on the volume of the app's home.", disk.used),
            ("tradeforge_disk_total_bytes", "Size of the volume of the app's home, in bytes.", disk.total),
        ):
            yield GaugeMetricFamily(name, doc, value=float(value))


class _TradingCollector(Collector):
    """Trades and DCA attempts as the trade store holds them at the scrape (all workers alike)."""

    def __init__(self, figures: Callable[[], TradingFigures]) -> None:
        self._figures = figures

    def describe(self) -> Iterator[Metric]:
        return iter(())  # nothing read at registration: the store is asked at each scrape

    def collect(self) -> Iterator[Metric]:
        try:
            f = self._figures()
        except SQLAlchemyError as exc:  # the store unreachable: the scrape still answers the rest
            log.warning("trading metrics left out: the trade store is unreachable (%s)", type(exc).__name__)
            return
        errors = CounterMetricFamily(
            "tradeforge_trading_errors",
            "Rejected orders by reason (a risk rule, insufficient_balance, trading_disabled, other) "
            "and broker.",
            labels=["error_type", "service"],
        )
        for (kind, service), count in sorted(f.errors.items()):
            errors.add_metric([kind, service], count)
        yield errors
        yield GaugeMetricFamily("tradeforge_active_trades_total", "Open trades.", value=f.active_trades)
        yield GaugeMetricFamily(
            "tradeforge_trading_volume_usd",
            "Notional of the open trades at their latest price, in USD.",
            value=float(f.volume),
        )
        yield CounterMetricFamily(
            "tradeforge_dca_successful_attempts", "DCA orders placed.", value=f.dca_successful
        )
        failed = CounterMetricFamily(
            "tradeforge_dca_failed_attempts",
            "DCA orders refused, by reason (a risk rule, insufficient_balance, trading_disabled, other).",
            labels=["reason"],
        )
        for reason, count in sorted(f.dca_failed.items()):
            failed.add_metric([reason], count)
        yield failed
