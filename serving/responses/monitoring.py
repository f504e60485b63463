"""Answers of the monitoring routes."""

from __future__ import annotations

from typing import Literal

from serving.responses import Num, Shape

__all__ = [
    "Dashboard",
    "ErrorLog",
    "ErrorUsage",
    "HourCount",
    "ModelUsage",
    "PredictionLog",
    "RecentErrors",
    "RecentPredictions",
    "RequestUsage",
    "RouteUsage",
    "SavedSnapshot",
    "SnapshotFile",
    "SnapshotList",
    "SystemUsage",
]


class SystemUsage(Shape):
    total_predictions: int
    total_api_calls: int
    total_errors: int
    recent_api_calls_1h: int
    recent_errors_24h: int
    avg_response_time: float | None  # seconds
    uptime: str
    uptime_seconds: float | None


class ModelUsage(Shape):
    model_name: str
    total_predictions: int
    avg_confidence: float | None
    avg_signal: float | None
    buy_signals: int
    sell_signals: int
    hold_signals: int
    last_prediction_at: str | None


class RouteUsage(Shape):
    method: str
    route: str
    count: int
    avg_duration_ms: float
    errors: int


class RequestUsage(Shape):
    by_route: list[RouteUsage]
    by_status: dict[str, int]


class ErrorUsage(Shape):
    by_code: dict[str, int]


class HourCount(Shape):
    hour: str
    count: int


class Dashboard(Shape):
    generated_at: str
    scope: Literal["user", "all"]
    user_id: str | None
    system: SystemUsage
    models: list[ModelUsage]
    requests: RequestUsage
    errors: ErrorUsage
    predictions_per_hour: list[HourCount]


class PredictionLog(Shape):
    id: int
    user_id: str | None
    endpoint: str
    model_name: str
    model_version: str
    symbol: str
    timeframe: str
    signal: Num
    confidence: Num
    predicted_return: Num
    value: Num
    direction: str
    recommendation: str
    current_price: Num
    latency_ms: Num
    request_id: str
    created_at: str


class RecentPredictions(Shape):
    predictions: list[PredictionLog]
    count: int


class ErrorLog(Shape):
    id: int
    user_id: str | None
    request_id: str
    method: str
    path: str
    status_code: int
    code: str
    message: str
    created_at: str


class RecentErrors(Shape):
    errors: list[ErrorLog]
    count: int


class SavedSnapshot(Shape):
    status: Literal["success"]
    name: str
    size_bytes: int
    created_at: str


class SnapshotFile(Shape):
    name: str
    user_id: str | None
    created_at: str
    size_bytes: int | None


class SnapshotList(Shape):
    files: list[SnapshotFile]
    count: int
