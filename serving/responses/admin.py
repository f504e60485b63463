"""Answers of the health, auth and model-management routes, and the error envelope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, UnsetType

from serving.responses import Num, Shape

__all__ = [
    "AccessToken", "ApiHealth", "ApiIndex", "ApiKey", "ApiKeyList", "ChampionComparison", "Configuration",
    "ErrorEnvelope", "ErrorInfo", "Health", "HealthMetrics",
    "Info", "LegacyLogin", "LegacyTokens", "Liveness", "LoadedModel", "Me", "ModelDeleted", "ModelDetail",
    "ModelList", "ModelReloaded", "ModelRow", "ModelVersion", "NewApiKey",
    "Pagination", "PlatformStats", "Readiness", "ReadinessChecks",
    "RevokedApiKey", "ServiceChecks",
    "SystemStats", "Tokens", "Trained", "User",
]  # fmt: skip

# The two model counts of the health routes, each saying what it counts.
ModelsInMemory = Annotated[
    int,
    Meta(
        description=(
            "Model versions held in memory by the worker that answered (a version loads on its first "
            "prediction); /api/v1/health's metrics.active_models counts registered models with a "
            "champion instead."
        )
    ),
]
ChampionModels = Annotated[
    int,
    Meta(
        description=(
            "Registered models with a champion version (the models the API can serve); /health's "
            "models_loaded counts the versions held in memory by one worker instead."
        )
    ),
]

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
    message: str
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
    models_loaded: ModelsInMemory
    services: ServiceChecks
    system: SystemStats


class Liveness(Shape):
    status: Literal["alive"]
    version: str
    timestamp: str


class ReadinessChecks(Shape):
    database: str
    ml_engine: str
    cache: str


class Readiness(Shape):
    status: Literal["ready"]
    timestamp: str
    services: ReadinessChecks


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
    models_loaded: list[LoadedModel]
    strategies: list[str]
    model_types: list[str]
    timestamp: str
    configuration: Configuration | UnsetType | None = UNSET  # admins only
    system: PlatformStats | UnsetType | None = UNSET  # admins only


class HealthMetrics(Shape):
    uptime_seconds: float
    active_models: ChampionModels
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


class ChampionComparison(Shape):
    """The new version and the champion scored on the same held-out rows: the later of their two
    validation windows, after both versions' training rows and an embargo of the longer horizon."""

    metric: Annotated[str, Meta(description="The selection metric, e.g. val_ic")]
    candidate: Annotated[float | None, Meta(description="The new version's score (null: undefined)")]
    champion: Annotated[float | None, Meta(description="The champion's score on the same rows")]
    champion_version: str
    window_of: Annotated[str, Meta(description="Whose validation window: candidate or champion")]
    window_start: Annotated[str | None, Meta(description="First compared row")]
    window_end: Annotated[str | None, Meta(description="Last compared row")]
    rows: int
    forced: Annotated[bool, Meta(description="Promoted by force, whatever the scores")]
    held_out_sharpe: Annotated[
        float | None,
        Meta(description="The new version's per-bar Sharpe ratio of its calls on the rows"),
    ] = None
    trials: Annotated[
        int | None,
        Meta(description="Versions of the model with a held-out Sharpe ratio, this one included"),
    ] = None
    trials_sharpe_variance: Annotated[
        float | None, Meta(description="Variance of those versions' held-out Sharpe ratios (per bar)")
    ] = None
    deflated_sharpe: Annotated[
        float | None,
        Meta(description="The PSR against the maximum Sharpe ratio expected of that many trials"),
    ] = None


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
    comparison: Annotated[
        ChampionComparison | None,
        Meta(description="How the new version compared with the champion (null for a first version)"),
    ] = None


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
