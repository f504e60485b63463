"""Response shapes of the health, auth, model-management and monitoring routes (documentation only:
the handlers return plain dicts; tests/serving/test_openapi.py checks the two agree)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "AccessToken", "ApiHealth", "ApiIndex", "ApiKey", "ApiKeyList", "Configuration", "Dashboard",
    "ErrorEnvelope", "ErrorInfo", "ErrorLog", "ErrorUsage", "Health", "HealthMetrics", "HourCount",
    "Info", "LegacyLogin", "LegacyTokens", "LoadedModel", "Me", "ModelDeleted", "ModelDetail",
    "ModelList", "ModelReloaded", "ModelRow", "ModelUsage", "ModelVersion", "NewApiKey", "Num",
    "Pagination", "PlatformStats", "PredictionLog", "RecentErrors", "RecentPredictions", "RequestUsage",
    "RevokedApiKey", "RouteUsage", "SavedSnapshot", "ServiceChecks", "Shape", "SnapshotFile",
    "SnapshotList", "SystemStats", "SystemUsage", "Tokens", "Trained", "User",
]  # fmt: skip

Num = float | None  # JSON-safe floats: NaN, infinities and undefined ratios are null


class Shape(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of the documented response shapes (unknown fields are refused, so the test that decodes
    the app's real answers with them catches a field the documentation lacks)."""


# --- errors -------------------------------------------------------------------------------------


class ErrorInfo(Shape):
    code: str
    message: str
    details: dict[str, Any]


class ErrorEnvelope(Shape):
    """Every error answer (DESIGN.md "API rules"); ``detail`` repeats ``error.message``."""

    status: Literal["error"]
    error: ErrorInfo
    detail: str
    status_code: int
    request_id: str
    timestamp: str


# --- health -------------------------------------------------------------------------------------


class SystemStats(Shape):
    cpu_percent: float
    cpu_count: int
    load_average: list[float] | None
    memory_percent: float
    memory_available_gb: float
    memory_total_gb: float
    disk_percent: float
    disk_free_gb: float


class PlatformStats(SystemStats):
    python: str
    platform: str
    machine: str
    cuda_available: bool
    process_id: int


class ServiceChecks(Shape):
    """ "healthy", or "unhealthy: <reason>"."""

    database: str
    cache: str
    ml_engine: str
    market_data: str


class ApiIndex(Shape):
    name: str
    version: str
    status: str
    description: str
    docs: str
    redoc: str
    openapi: str
    health: str
    metrics: str
    endpoints: dict[str, str]
    timestamp: str


class Health(Shape):
    status: Literal["healthy", "degraded"]
    timestamp: str
    version: str
    uptime_seconds: float
    models_loaded: int
    services: ServiceChecks
    system: SystemStats


class Configuration(Shape):
    home: str
    database: str
    mlflow_tracking_uri: str
    redis: str | None
    rate_limits_per_window: dict[str, int | None]
    rate_limit_window_seconds: int
    cors_origins: list[str]
    stock_source: str
    crypto_source: str


class LoadedModel(Shape):
    model_name: str
    version: str
    load_seconds: float


class Info(Shape):
    name: str
    version: str
    started_at: str
    uptime_seconds: float
    configuration: Configuration
    models_loaded: list[LoadedModel]
    strategies: list[str]
    model_types: list[str]
    system: PlatformStats
    timestamp: str


class HealthMetrics(Shape):
    uptime_seconds: float
    active_models: int
    requests_per_minute: int


class ApiHealth(Shape):
    status: Literal["healthy", "degraded"]
    timestamp: str
    services: ServiceChecks
    metrics: HealthMetrics


# --- auth ---------------------------------------------------------------------------------------


class User(Shape):
    id: str
    username: str
    email: str | None
    full_name: str | None
    role: str
    tier: str
    is_active: bool
    created_at: str


class Me(User):
    authenticated_via: str


class AccessToken(Shape):
    access_token: str
    token_type: str
    expires_in: int


class Tokens(AccessToken):
    refresh_token: str
    user: User


class LegacyTokens(Tokens):
    token: str


class LegacyLogin(Tokens):
    status: Literal["success"]
    data: LegacyTokens


class ApiKey(Shape):
    id: str
    name: str
    prefix: str
    user_id: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    active: bool


class NewApiKey(ApiKey):
    key: str
    note: str


class RevokedApiKey(ApiKey):
    status: Literal["revoked"]


class ApiKeyList(Shape):
    keys: list[ApiKey]
    count: int


# --- models -------------------------------------------------------------------------------------


class ModelRow(Shape):
    id: str
    name: str
    type: str
    category: str
    status: str
    loaded: bool
    accuracy: Num
    trained_date: str
    model_name: str
    model_type: str
    symbol: str
    timeframe: str
    device: str
    versions: int
    latest_version: str
    champion_version: str | None
    metrics: dict[str, float]
    last_trained: str


class Pagination(Shape):
    page: int
    limit: int
    total_pages: int
    total_items: int


class ModelList(Shape):
    models: list[ModelRow]
    count: int
    pagination: Pagination


class ModelVersion(Shape):
    version: str
    aliases: list[str]
    run_id: str
    created_at: str
    device: str
    metrics: dict[str, float]


class ModelDetail(ModelRow):
    versions_detail: list[ModelVersion]
    loaded_versions: list[str]


class Trained(Shape):
    status: Literal["success"]
    model_name: str
    version: str
    run_id: str
    model_type: str
    metrics: dict[str, float]
    champion: bool
    decision: str
    device: str
    seconds: float
    data_range: dict[str, str]
    features_used: int
    symbol: str
    timeframe: str
    source: str
    dataset: str
    parameters: dict[str, Any]
    message: str
    training_time: float


class ModelDeleted(Shape):
    status: Literal["success"]
    model_name: str
    message: str


class ModelReloaded(Shape):
    status: Literal["success"]
    model_name: str
    version: str
    aliases: list[str]
    load_seconds: float
    message: str


# --- monitoring ---------------------------------------------------------------------------------


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
    path: str
    size_bytes: int
    created_at: str


class SnapshotFile(Shape):
    name: str
    path: str
    user_id: str | None
    created_at: str
    size_bytes: int | None


class SnapshotList(Shape):
    files: list[SnapshotFile]
    count: int
