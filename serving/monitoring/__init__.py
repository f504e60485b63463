"""Monitoring numbers (/api/v1/monitoring) computed from the app database's log tables, never from memory."""

from __future__ import annotations

from serving.monitoring.queries import (
    dashboard,
    errors_by_code,
    format_duration,
    model,
    model_summaries,
    predictions_per_hour,
    requests_by_route,
    requests_by_status,
    requests_per_minute,
    system,
)
from serving.monitoring.recent import log_row_dict, recent_errors, recent_predictions
from serving.monitoring.snapshots import history, save_snapshot

__all__ = [
    "dashboard",
    "errors_by_code",
    "format_duration",
    "history",
    "log_row_dict",
    "model",
    "model_summaries",
    "predictions_per_hour",
    "recent_errors",
    "recent_predictions",
    "requests_by_route",
    "requests_by_status",
    "requests_per_minute",
    "save_snapshot",
    "system",
]
