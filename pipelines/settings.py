"""One settings object; every path and URL of the platform comes from here.

Settings are read when a command or app starts (``get_settings()``), never at import time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "UniverseEntry", "get_settings"]


class UniverseEntry(BaseModel):
    """One symbol of the default universe and how it is ingested."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    source: str = "synthetic"
    timeframes: list[str] = Field(default_factory=lambda: ["1d"])


def _default_universe() -> list[UniverseEntry]:
    return [
        UniverseEntry(symbol="AAPL", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="MSFT", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="SPY", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="BTC/USDT", timeframes=["1d", "1h"]),
        UniverseEntry(symbol="ETH/USDT", timeframes=["1d", "1h"]),
    ]


class Settings(BaseSettings):
    """Environment-driven settings (prefix ``TRADEFORGE_``)."""

    model_config = SettingsConfigDict(env_prefix="TRADEFORGE_", extra="ignore", populate_by_name=True)

    home: Path = Field(default_factory=lambda: Path.cwd() / ".tradeforge")
    database_url: str | None = None
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri")
    )
    redis_url: str | None = None
    secret_key: str | None = None
    encryption_key: str | None = None

    # Data
    universe: list[UniverseEntry] = Field(default_factory=_default_universe)
    history_start: str = "2019-01-01"
    synthetic_seed: int = 42
    stock_source: str = "synthetic"
    crypto_source: str = "synthetic"
    ccxt_exchange: str = "binance"
    provider_max_retries: int = 4
    provider_backoff_seconds: float = 1.0

    # Serving
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://localhost:8000"]
    )
    access_token_minutes: int = 30
    refresh_token_days: int = 7
    # Requests per hour by tier (None: unlimited): free, pro and enterprise.
    rate_limits: dict[str, int | None] = Field(
        default_factory=lambda: {"free": 100, "pro": 1000, "enterprise": None}
    )
    rate_limit_window_seconds: int = 3600
    default_tier: str = "free"
    # Live feed: None serves no feed; a number runs the synthetic feed that many times faster than
    # real time (demo); 1.0 polls the configured providers at the timeframe's cadence (production).
    live_speed: float | None = None
    live_timeframe: str = "1m"
    live_symbols: list[str] | None = None  # None: the universe's symbols
    ws_queue_size: int = 256  # messages a WebSocket may fall behind before it is closed
    # Webhook URLs on private or loopback addresses are refused unless this is set (tests, a LAN).
    webhook_allow_private_urls: bool = False
    # How long a cached latest-feature row is trusted before the store is asked for newer bars.
    feature_cache_ttl_seconds: float = 5.0
    # Uploaded datasets (POST /datasets/upload): the largest file accepted, and for a ZIP the most
    # its contents may expand to.
    dataset_max_upload_mb: int = Field(default=200, ge=1)
    dataset_max_unzipped_mb: int = Field(default=1000, ge=1)
    # Probes: /health and /health/ready reuse their backing-service checks for this long.
    health_cache_seconds: float = Field(default=5.0, ge=0)
    # When set, GET /metrics needs "Authorization: Bearer <this token>"; unset, it is public.
    metrics_token: str | None = None

    # Accounts and sign-in
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For/-Proto headers are believed,
    # comma-separated in the environment; empty (the default): the client is always the peer of
    # the connection, so a caller cannot pick its own address for the per-address limits.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long a worker trusts what it read of a user (active, role, tier, token version); changes
    # made through this worker, or announced through Redis, apply at once regardless.
    user_state_cache_seconds: float = Field(default=2.0, ge=0)
    # Open WebSockets and event streams end at once when their user changes (in this worker, or
    # announced through the hub); this sweep finds every change nobody announced (the CLI without
    # Redis): each open stream's user is re-checked this often.
    stream_recheck_seconds: float = Field(default=30.0, gt=0)
    # After this many failed logins for one username within the window, that username is refused
    # (429) for login_backoff_seconds, doubling with each further failure up to the maximum.
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    login_backoff_seconds: float = Field(default=30.0, gt=0)
    login_backoff_max_seconds: float = Field(default=3600.0, gt=0)

    # Request limits, checked before a request fetches, stores or computes anything. Bars are counted
    # from the timeframe and the date range (an upper bound: stocks trade in sessions, crypto 24/7).
    max_bars_per_request: int = Field(default=1_000_000, ge=1_000)
    max_walk_forward_folds: int = Field(default=500, ge=1)
    max_symbols_per_request: int = Field(default=100, ge=1)  # a prediction batch: one row each
    max_response_points: int = Field(default=5_000, ge=10)  # equity curves and trades in an answer
    # The full curve and trades of a cut answer are kept as files this many days (then removed by
    # the recovery and whenever a new result is written).
    result_files_days: int = Field(default=30, ge=1)

    @field_validator("home", mode="before")
    @classmethod
    def _expand_home(cls, value: Any) -> Any:
        if isinstance(value, str):
            return Path(value).expanduser()
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def market_dir(self) -> Path:
        return self.home / "market"

    @property
    def features_dir(self) -> Path:
        return self.home / "features"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dagster_dir(self) -> Path:
        return self.home / "dagster"

    @property
    def models_cache_dir(self) -> Path:
        """Registered model folders downloaded for prediction."""
        return self.home / "models"

    @property
    def locks_dir(self) -> Path:
        return self.home / "locks"

    @property
    def secrets_dir(self) -> Path:
        """Generated dev keys (0700, files 0600), outside what ``tradeforge query`` may read."""
        return self.home / "secrets"

    @property
    def secret_key_path(self) -> Path:
        """Where a generated dev JWT key lives when ``TRADEFORGE_SECRET_KEY`` is unset."""
        return self.secrets_dir / "secret_key"

    @property
    def encryption_key_path(self) -> Path:
        """Where a generated dev encryption key lives when ``TRADEFORGE_ENCRYPTION_KEY`` is unset."""
        return self.secrets_dir / "encryption_key"

    @property
    def datasets_dir(self) -> Path:
        """Uploaded datasets, one folder per dataset id."""
        return self.home / "datasets"

    @property
    def metrics_dir(self) -> Path:
        """Saved monitoring snapshots (``POST /api/v1/monitoring/save``)."""
        return self.home / "metrics"

    @property
    def results_dir(self) -> Path:
        """Full equity curves and trade lists of cut answers, one folder per job id."""
        return self.home / "results"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home.resolve() / 'app.db'}"

    def resolved_mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home.resolve() / 'mlflow' / 'mlflow.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment on first use."""
    return Settings()
