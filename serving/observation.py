"""What the app records of its traffic: each request in Prometheus and the request log, each error
answered in the error log, each prediction served in Prometheus and the prediction log.

Rows go through the app's ``BufferedLogWriter``, so recording never waits on the database; the
monitoring endpoints flush it before they read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar.types import Scope

from pipelines.data.version import DataVersion
from pipelines.db import BufferedLogWriter, ErrorLog, PredictionLog, RequestLog
from serving.context import principal_of, request_id_of
from serving.metrics import ApiMetrics

__all__ = ["Observer"]

_MAX_CHILDREN = 10_000  # label sets held per family (a bound, not an expected number)


class Observer:
    """Counts in ``metrics`` and writes log rows through ``log_writer``."""

    def __init__(self, metrics: ApiMetrics, log_writer: BufferedLogWriter) -> None:
        self.metrics = metrics
        self.log_writer = log_writer
        # The labelled children of the per-request metrics, looked up once per label set (a
        # ``labels()`` call validates and locks on every request otherwise).
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._prediction_children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def _request_metrics(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            if len(self._request_children) >= _MAX_CHILDREN:
                self._request_children.clear()
            children = self._request_children[key] = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(method, route),
            )
        return children

    def _prediction_metrics(self, model: str, recommendation: str) -> tuple[Any, Any]:
        key = (model, recommendation)
        children = self._prediction_children.get(key)
        if children is None:
            if len(self._prediction_children) >= _MAX_CHILDREN:
                self._prediction_children.clear()
            children = self._prediction_children[key] = (
                self.metrics.predictions.labels(model, recommendation),
                self.metrics.ml_predictions.labels(model, "success"),
            )
        return children

    def observe_request(
        self, scope: Scope, *, method: str, route: str, status: int, seconds: float, logged: bool = True
    ) -> None:
        """Count the request in Prometheus and (unless not ``logged``: probes) the request log."""
        count, latency = self._request_metrics(method, route, status)
        count.inc()
        latency.observe(seconds)
        if not logged:
            return
        principal = principal_of(scope)
        self.log_writer.submit(
            (
                RequestLog,
                {
                    "user_id": principal.user_id if principal else None,
                    "method": method,
                    "route": route,
                    "status_code": status,
                    "duration_ms": seconds * 1000.0,
                    "request_id": request_id_of(scope),
                    "created_at": datetime.now(UTC),
                },
            )
        )

    def record_error(
        self,
        *,
        request_id: str,
        user_id: str | None,
        method: str,
        path: str,
        status_code: int,
        code: str,
        message: str,
    ) -> None:
        """An error answer in the error log (its message cut to 1000 characters)."""
        self.log_writer.submit(
            (
                ErrorLog,
                {
                    "user_id": user_id,
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "status_code": status_code,
                    "code": code,
                    "message": message[:1000],
                    "created_at": datetime.now(UTC),
                },
            )
        )

    def record_prediction(
        self,
        prediction: dict[str, Any],
        *,
        user_id: str | None,
        endpoint: str,
        request_id: str,
        latency_ms: float,
        data_version: DataVersion | None = None,
        features: dict[str, float | None] | None = None,
    ) -> None:
        """A prediction served: counted by model and recommendation, and a prediction log row with
        the version of the data its features came from (``data_version``, when known) and the
        indicator values of the bar it was made on (``features``, when known)."""
        served, succeeded = self._prediction_metrics(prediction["model_name"], prediction["recommendation"])
        served.inc()
        succeeded.inc()
        self.log_writer.submit(
            (
                PredictionLog,
                {
                    "user_id": user_id,
                    "endpoint": endpoint,
                    "model_name": prediction["model_name"],
                    "model_version": str(prediction.get("model_version", "")),
                    "symbol": prediction["symbol"],
                    "timeframe": prediction.get("timeframe", ""),
                    "signal": prediction.get("signal"),
                    "confidence": prediction.get("confidence"),
                    "predicted_return": prediction.get("predicted_return"),
                    "value": prediction.get("value"),
                    "direction": prediction.get("direction", ""),
                    "recommendation": prediction["recommendation"],
                    "current_price": prediction.get("current_price"),
                    "latency_ms": latency_ms,
                    "request_id": request_id,
                    "created_at": datetime.now(UTC),
                    "data_version": data_version.content_hash if data_version is not None else None,
                    "features": features,
                },
            )
        )
