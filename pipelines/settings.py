"""One settings object; every path and URL of the platform comes from here.

Settings are read when a command or app starts (``get_settings()``), never at import time. Fields
are grouped by concern (``settings.data.history_start``, ``settings.live.live_speed``) while each
keeps its flat environment variable (``TRADEFORGE_HISTORY_START``, ``TRADEFORGE_LIVE_SPEED``); a
flat keyword (``Settings(history_start=...)``) or ``model_copy(update={"history_start": ...})``
lands in its group too.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pipelines.home import HomePaths, find_home
from pipelines.settings_groups import (
    DagsterSettings,
    ExchangeSettings,
    InferenceSettings,
    JobsSettings,
    LearningSettings,
    PaperSettings,
    SettingsGroup,
    StorageSettings,
)

__all__ = [
    "AuthSettings",
    "DagsterSettings",
    "DataSettings",
    "ExchangeSettings",
    "ForecastSettings",
    "InferenceSettings",
    "JobsSettings",
    "LearningSettings",
    "LimitsSettings",
    "LiveSettings",
    "PaperSettings",
    "ServingSettings",
    "Settings",
    "SettingsGroup",
    "StorageSettings",
    "UniverseEntry",
    "UploadsSettings",
    "field_groups",
    "get_settings",
]


class UniverseEntry(BaseModel):
    """One symbol of the default universe and how it is ingested."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(description="Ticker or pair, e.g. AAPL or BTC/USDT.")
    source: str = Field(default="synthetic", description="Provider it is ingested from.")
    timeframes: list[str] = Field(default_factory=lambda: ["1d"], description="Bar sizes ingested.")


def _default_universe() -> list[UniverseEntry]:
    return [
        UniverseEntry(symbol="AAPL", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="MSFT", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="SPY", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="BTC/USDT", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="ETH/USDT", timeframes=["1d", "1h"]),
    ]


class DataSettings(SettingsGroup):
    """Which market data is ingested, from where, and how providers are retried."""

    universe: list[UniverseEntry] = Field(
        default_factory=_default_universe, description="Symbols ingested by default (JSON list of entries)."
    )
    history_start: str = Field(default="2019-01-01", description="First day the universe is ingested from.")
    synthetic_seed: int = Field(default=42, description="Seed of the synthetic market.")
    stock_source: str = Field(default="synthetic", description="Provider of stocks the API has no data for.")
    crypto_source: str = Field(default="synthetic", description="Provider of pairs the API has no data for.")
    ccxt_exchange: str = Field(default="binance", description="Default ccxt exchange of crypto pairs.")
    provider_max_retries: int = Field(default=4, description="Retries of a transient provider failure.")
    provider_backoff_seconds: float = Field(default=1.0, description="First wait before a provider retry.")
    feature_cache_ttl_seconds: float = Field(
        default=5.0, description="How long a cached latest-feature row is trusted before the store is asked."
    )
    benchmark_symbol: str = Field(
        default="BTC/USDT",
        description="Symbol whose daily returns the portfolio's beta is measured against (risk analytics).",
    )
    backtest_benchmark_symbol: str | None = Field(
        default=None,
        description="Symbol whose buy and hold every backtest and walk-forward is also compared with "
        "(for example SPY); unset, only the traded symbol's own buy and hold.",
    )


class ServingSettings(SettingsGroup):
    """How the API meets browsers, proxies, probes and webhook targets."""

    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://localhost:8000"],
        description="Browser origins allowed to call the API.",
    )
    # Empty (the default): the client is always the connection's peer, so a caller cannot pick its
    # own address for the per-address limits (anonymous rate limits, login backoff, logs).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed.",
    )
    health_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long /health and /health/ready reuse their service checks."
    )
    metrics_token: str | None = Field(
        default=None, description="When set, GET /metrics needs it as a Bearer token; unset, it is public."
    )
    webhook_allow_private_urls: bool = Field(
        default=False, description="Accept webhook URLs on private or loopback addresses (tests, a LAN)."
    )
    environment: str = Field(
        default="development", description="The deployment's name (development, staging, production...)."
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class AuthSettings(SettingsGroup):
    """Tokens, sign-in backoff and how long a worker trusts what it read of a user."""

    access_token_minutes: int = Field(default=30, description="Lifetime of an access token.")
    refresh_token_days: int = Field(default=7, description="Lifetime of a refresh token.")
    # Changes made through this worker, or announced through Redis, apply at once regardless.
    user_state_cache_seconds: float = Field(
        default=2.0, ge=0, description="How long a worker trusts what it read of a user (active, role, tier)."
    )
    # Streams end at once when a change is announced (this worker, the hub); the sweep finds the
    # changes nobody announced (the CLI without Redis).
    stream_recheck_seconds: float = Field(
        default=30.0, gt=0, description="How often each open WebSocket or event stream re-checks its user."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins of one username in the window before it is refused (429)."
    )
    login_failure_window_seconds: int = Field(
        default=900, ge=1, description="Window in which failed logins of one username are counted."
    )
    login_backoff_seconds: float = Field(
        default=30.0,
        gt=0,
        description="First refusal after too many failures; doubles with each further one.",
    )
    login_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest refusal after repeated failed logins."
    )


class LimitsSettings(SettingsGroup):
    """Rate limits by tier, and request sizes checked before anything is fetched, stored or computed."""

    rate_limits: dict[str, int | None] = Field(
        default_factory=lambda: {"free": 100, "pro": 1000, "enterprise": None},
        description="Requests per window by tier (null: unlimited).",
    )
    rate_limit_window_seconds: int = Field(default=3600, description="Window the per-tier counts cover.")
    default_tier: str = Field(default="free", description="Tier of new accounts and of anonymous callers.")
    # Bars are counted from the timeframe and the date range: an upper bound, as stocks trade in
    # sessions and crypto 24/7.
    max_bars_per_request: int = Field(
        default=1_000_000, ge=1_000, description="Bars one request may read, fetch or ingest."
    )
    max_walk_forward_folds: int = Field(default=500, ge=1, description="Folds of one walk-forward.")
    sweep_max_combinations: int = Field(
        default=50_000, ge=1, description="Parameter combinations one sweep may backtest."
    )
    optimize_max_trials: int = Field(
        default=2_000, ge=1, description="Trials of one strategy optimization (one call, one study run)."
    )
    max_symbols_per_request: int = Field(default=100, ge=1, description="Symbols of one prediction batch.")
    max_response_points: int = Field(
        default=5_000,
        ge=10,
        description="Equity-curve points and trades in one backtest or walk-forward answer.",
    )


class LiveSettings(SettingsGroup):
    """The live bar feed and the WebSockets that carry it."""

    # A number runs the synthetic feed that many times faster than real time (demo); 1.0 polls the
    # configured providers at the timeframe's cadence (production).
    live_speed: float | None = Field(default=None, description="Speed of the live feed (unset: no feed).")
    live_timeframe: str = Field(default="1m", description="Bar size the live feed appends.")
    live_symbols: list[str] | None = Field(
        default=None, description="Symbols the live feed appends (unset: the universe's symbols)."
    )
    # The feed also carries the series (symbol, timeframe) active strategies trade; beyond this many
    # series not configured above, activating a strategy on one more is refused.
    live_follow_max: int = Field(
        default=100, ge=0, description="Series beyond the configured ones the feed follows for strategies."
    )
    ws_queue_size: int = Field(default=256, description="Messages a WebSocket may lag before it is closed.")


class UploadsSettings(SettingsGroup):
    """Sizes of uploaded datasets (POST /datasets/upload), and the shape image datasets are resized to."""

    dataset_max_upload_mb: int = Field(default=200, ge=1, description="Largest dataset file accepted.")
    dataset_max_unzipped_mb: int = Field(default=1000, ge=1, description="Most a ZIP upload may expand to.")
    image_height: int = Field(
        default=64, ge=8, le=1024, description="Height an image dataset's images are resized to."
    )
    image_width: int = Field(
        default=64, ge=8, le=1024, description="Width an image dataset's images are resized to."
    )
    image_max_count: int = Field(default=20_000, ge=1, description="Most images an image dataset may hold.")
    image_max_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="Most pixels one uploaded image may decode to (a decompression bomb's guard).",
    )


class ForecastSettings(SettingsGroup):
    """The N-step OHLC forecasters that /api/predictions trains when a symbol has none (multi_ohlc)."""

    forecast_steps: int = Field(default=300, ge=1, le=500, description="Bars ahead such a model forecasts.")
    forecast_days_history: int = Field(default=30, ge=1, description="Days of bars such a model trains on.")
    forecast_params: dict[str, Any] = Field(default_factory=dict, description="Their multi_ohlc parameters.")


class _FlatEnvSource(EnvSettingsSource):
    """The environment, with each group field read from its flat ``TRADEFORGE_<FIELD>`` variable."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        for group, model in _group_models(self.settings_cls).items():
            found: dict[str, Any] = {}
            for name, info in model.model_fields.items():
                raw, _env_name, is_complex = self.get_field_value(info, name)
                value = self.prepare_field_value(name, info, raw, is_complex)
                if value is not None:
                    found[name] = value
            if found:
                existing = values.get(group)
                values[group] = {**existing, **found} if isinstance(existing, dict) else found
        return values


def _group_models(settings_cls: type[BaseModel]) -> dict[str, type[SettingsGroup]]:
    groups: dict[str, type[SettingsGroup]] = {}
    for name, info in settings_cls.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, SettingsGroup):
            groups[name] = info.annotation
    return groups


def field_groups() -> dict[str, str]:
    """Each grouped field's name -> the group holding it (``"history_start" -> "data"``)."""
    return {name: group for group, model in _group_models(Settings).items() for name in model.model_fields}


def _into_groups(values: Mapping[str, Any], groups: Mapping[str, BaseModel]) -> dict[str, Any]:
    """``values`` with every flat group field moved into its group's dict (flat names win)."""
    owner = field_groups()
    result: dict[str, Any] = {}
    moved: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if key in owner:
            moved.setdefault(owner[key], {})[key] = value
        else:
            result[key] = value
    for group, fields in moved.items():
        current = result.get(group, groups.get(group))
        if isinstance(current, BaseModel):
            current = current.model_dump()
        result[group] = {**(current if isinstance(current, dict) else {}), **fields}
    return result


class Settings(HomePaths, BaseSettings):
    """Environment-driven settings (prefix ``TRADEFORGE_``), grouped by concern."""

    model_config = SettingsConfigDict(env_prefix="TRADEFORGE_", extra="ignore", populate_by_name=True)

    home: Path = Field(
        default_factory=lambda: find_home().path,
        description="Folder of everything the platform stores: bars, features, models, databases, secrets "
        "(unset: the nearest .tradeforge/ folder in the working directory or above it, else the per-user "
        "data folder).",
    )
    database_url: str | None = Field(default=None, description="The app database (unset: SQLite in home).")
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri"),
        description="MLflow tracking and registry (MLFLOW_TRACKING_URI; unset: SQLite in home).",
    )
    redis_url: str | None = Field(
        default=None, description="Redis shared by the workers: rate limits, WebSocket messages, job events."
    )
    secret_key: str | None = Field(default=None, description="JWT signing key (unset: generated into home).")
    champion_min_psr: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Probabilistic Sharpe ratio (against 0) of its direction calls on the held-out window "
        "that a new model version must also reach to become champion (unset: the selection metric alone).",
    )
    encryption_key: str | None = Field(
        default=None,
        description="Key webhook secrets and exchange keys are encrypted under (unset: generated into home).",
    )

    data: DataSettings = Field(default_factory=DataSettings, description=DataSettings.__doc__)
    storage: StorageSettings = Field(default_factory=StorageSettings, description=StorageSettings.__doc__)
    serving: ServingSettings = Field(default_factory=ServingSettings, description=ServingSettings.__doc__)
    auth: AuthSettings = Field(default_factory=AuthSettings, description=AuthSettings.__doc__)
    limits: LimitsSettings = Field(default_factory=LimitsSettings, description=LimitsSettings.__doc__)
    live: LiveSettings = Field(default_factory=LiveSettings, description=LiveSettings.__doc__)
    uploads: UploadsSettings = Field(default_factory=UploadsSettings, description=UploadsSettings.__doc__)
    jobs: JobsSettings = Field(default_factory=JobsSettings, description=JobsSettings.__doc__)
    learning: LearningSettings = Field(default_factory=LearningSettings, description=LearningSettings.__doc__)
    forecast: ForecastSettings = Field(default_factory=ForecastSettings, description=ForecastSettings.__doc__)
    exchanges: ExchangeSettings = Field(
        default_factory=ExchangeSettings, description=ExchangeSettings.__doc__
    )
    inference: InferenceSettings = Field(
        default_factory=InferenceSettings, description=InferenceSettings.__doc__
    )
    paper: PaperSettings = Field(default_factory=PaperSettings, description=PaperSettings.__doc__)
    dagster: DagsterSettings = Field(default_factory=DagsterSettings, description=DagsterSettings.__doc__)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then the environment with its flat names read into the groups."""
        return (init_settings, _FlatEnvSource(settings_cls), dotenv_settings, file_secret_settings)

    @model_validator(mode="before")
    @classmethod
    def _group_flat_names(cls, values: Any) -> Any:
        if isinstance(values, Mapping):
            return _into_groups(values, {})
        return values

    @field_validator("home", mode="before")
    @classmethod
    def _expand_home(cls, value: Any) -> Any:
        if isinstance(value, str):
            return Path(value).expanduser()
        return value

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied; a flat group field name updates a copy of its group."""
        if update:
            current = {name: getattr(self, name) for name in _group_models(type(self))}
            grouped = _into_groups(update, current)
            update = {
                key: type(current[key]).model_validate(value)
                if key in current and isinstance(value, dict)
                else value
                for key, value in grouped.items()
            }
        return super().model_copy(update=update, deep=deep)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home.resolve() / 'app.db'}"

    def resolved_mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home.resolve() / 'mlflow' / 'mlflow.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment on first use."""
    return Settings()
