"""Prometheus metrics of one app (its own registry: two apps in one process never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ApiMetrics"]

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

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._add_http_metrics()
        self._add_model_metrics()
        self._add_limit_metrics()
        self._add_stream_metrics()

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

    def render(self) -> bytes:
        return generate_latest(self.registry)
