"""Settings groups of object storage, of trading (the paper broker, exchanges), of the inference
tier, of jobs, of the training platform and of Dagster beyond one machine, and the base every group
shares; kept apart from :mod:`pipelines.settings` so that module stays one readable page."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DagsterSettings",
    "ExchangeSettings",
    "InferenceSettings",
    "JobsSettings",
    "LearningSettings",
    "PaperSettings",
    "SettingsGroup",
    "StorageSettings",
]


class SettingsGroup(BaseModel):
    """One group of related settings; each field reads the flat ``TRADEFORGE_<FIELD>`` variable."""

    model_config = ConfigDict(extra="forbid")


class ExchangeSettings(SettingsGroup):
    """Users' exchange credentials and the connections made with them (ccxt exchanges, 3Commas)."""

    exchange_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Longest wait for one request to an exchange."
    )
    exchange_sync_max_pages: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Pages of a symbol's fills (the venue's page size each) one exchange sync reads; "
        "a sync that stops there says so in its result and the next one resumes there.",
    )
    exchange_api_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Base URL per venue (binance, 3commas...) in place of its own: a proxy, a replay.",
    )
    max_exchange_keys_per_user: int = Field(default=20, ge=1, description="Active exchange keys per user.")
    quote_asset: str = Field(default="USDT", description="Asset an exchange account's balance is shown in.")
    allow_live_trading: bool = Field(
        default=False,
        description="Let exchange trades use a key of a venue's live (mainnet) environment: real money. "
        "Off, only testnet keys place orders (TRADEFORGE_ALLOW_LIVE_TRADING=true turns it on).",
    )


class PaperSettings(SettingsGroup):
    """The paper broker: starting cash, its cost model and the bars it fills from."""

    paper_initial_balance: Decimal = Field(
        default=Decimal(10000), gt=0, description="Paper cash a user starts with, per quote currency."
    )
    paper_commission: float = Field(default=0.001, ge=0, lt=1, description="Fee per fill, a fraction.")
    paper_slippage: float = Field(default=0.0, ge=0, lt=1, description="Slippage per fill, a fraction.")
    paper_lot_size: Decimal = Field(
        default=Decimal(0), ge=0, description="Quantities are rounded down to it (0: not rounded)."
    )
    paper_tick_size: Decimal = Field(
        default=Decimal(0), ge=0, description="Prices are rounded to it (0: not)."
    )
    paper_timeframe: str = Field(default="1m", description="Stored bars the paper broker fills from.")


class InferenceSettings(SettingsGroup):
    """Where the API's model calls run: in its own process (the default), or a BentoML inference service."""

    inference_url: str | None = Field(
        default=None,
        description="Base URL of the inference service (serving/bento) the API sends model calls to; "
        "features stay computed by the API (unset: models predict in the API's process).",
    )
    inference_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Longest wait for one answer of the inference service."
    )
    inference_retries: int = Field(
        default=2, ge=0, le=10, description="Retries of a model call the inference service did not answer."
    )
    inference_pool_size: int = Field(
        default=64, ge=1, le=1024, description="Connections the API keeps open to the inference service."
    )
    inference_alias_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="How often the inference service checks which version an alias (champion) names.",
    )


class JobsSettings(SettingsGroup):
    """Where the API's jobs run, what they keep after they finish, whether automations start running."""

    # Then removed by the recovery and whenever a new result is written.
    result_files_days: int = Field(
        default=30, ge=1, description="Days the full curve and trades of a cut answer are kept as files."
    )
    automations_running: bool = Field(
        default=True, description="Dagster's schedules and sensors start running (false: stopped)."
    )
    # The API's jobs run in local worker processes, or on Celery workers on any host (a broker URL).
    job_broker_url: str | None = Field(
        default=None,
        description="Celery broker (amqp://...) that hands the API's jobs to `tradeforge jobs worker` "
        "processes on any host (unset: local worker processes of the API).",
    )
    job_queue: str = Field(
        default="tradeforge-jobs",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Broker queue the API's jobs are published to and Celery job workers consume.",
    )
    job_heartbeat_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="How often a Celery job worker marks its running jobs alive."
    )
    job_stale_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="A Celery-run job whose heartbeat is older than this is failed (its worker died).",
    )

    @model_validator(mode="after")
    def _heartbeat_within_staleness(self) -> JobsSettings:
        if self.job_stale_seconds <= 2 * self.job_heartbeat_seconds:
            raise ValueError(
                "TRADEFORGE_JOB_STALE_SECONDS must exceed twice TRADEFORGE_JOB_HEARTBEAT_SECONDS, or running "
                "jobs of live workers would be failed as stale"
            )
        return self


class LearningSettings(SettingsGroup):
    """The training platform (/training, /models): per-user job limit, prediction bounds."""

    max_training_jobs_per_user: int = Field(
        default=5, ge=1, description="Training jobs one user may have queued or running at once."
    )
    max_predict_batch: int = Field(default=10_000, ge=1, description="Rows of one POST /models/{id}/predict.")
    predict_cache_models: int = Field(
        default=8, ge=1, description="Trained models kept loaded for predictions."
    )


class StorageSettings(SettingsGroup):
    """Where market and feature Parquet files and MLflow artifacts live: the home or an S3 bucket."""

    # S3-compatible object storage (AWS S3, MinIO); credentials come from the standard AWS variables
    # or profile, never from these settings.

    data_url: str | None = Field(
        default=None,
        description="s3://bucket/prefix holding the market and feature files and, under mlflow-artifacts/, "
        "the artifacts of new MLflow experiments (unset: the home's market/ and features/ folders).",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint of a MinIO or other S3-compatible server, e.g. http://127.0.0.1:9000 "
        "(unset: AWS); also given to MLflow as MLFLOW_S3_ENDPOINT_URL.",
    )
    s3_region: str = Field(default="us-east-1", description="Region of the bucket.")

    @property
    def mlflow_artifact_root(self) -> str | None:
        """``{data_url}/mlflow-artifacts``, where new MLflow experiments keep their artifacts when the
        data lives on S3; None otherwise (the home's mlflow/artifacts folder)."""
        return None if self.data_url is None else f"{self.data_url}/mlflow-artifacts"

    @field_validator("data_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError("must be an s3://bucket/prefix URL")
        return _without_credentials(parts.netloc, value.strip().rstrip("/"))

    @field_validator("s3_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return _without_credentials(parts.netloc, value.strip().rstrip("/"))


def _without_credentials(netloc: str, url: str) -> str:
    """``url`` when it names no user or password: S3 credentials come from the AWS chain only, so
    no setting (shown by ``tradeforge config``, copied into Dagster run config) ever holds one."""
    if "@" in netloc:
        raise ValueError("must not hold credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    return url


class DagsterSettings(SettingsGroup):
    """Where Dagster keeps its instance (runs, event log, schedules) and where the steps of its jobs run."""

    dagster_instance: Literal["local", "postgres"] = Field(
        default="local",
        description="local: SQLite under the home (one machine); postgres: the PostgreSQL database of "
        "TRADEFORGE_DAGSTER_PG_URL (dagster-postgres), shared by every machine of the deployment.",
    )
    dagster_pg_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the Dagster instance (postgresql://user:password@host:5432/db) "
        "when dagster_instance is postgres.",
    )
    dagster_executor: Literal["default", "celery"] = Field(
        default="default",
        description="default: each run executes its steps on its own machine (one process per step); "
        "celery: the steps are sent to Celery workers (tradeforge dagster worker).",
    )
    dagster_celery_broker_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672//",
        description="Broker (RabbitMQ) the Dagster steps are queued on when the executor is celery.",
    )
    dagster_celery_backend_url: str = Field(
        default="rpc://",
        description="Celery result backend the steps' events come back through (rpc://: the broker).",
    )
    dagster_celery_queue: str = Field(
        default="dagster", min_length=1, description="Celery queue of every step not sent to the GPU queue."
    )
    dagster_gpu_queue: str = Field(
        default="gpu",
        min_length=1,
        description="Celery queue of the `gpu` pool's steps (training), consumed by GPU workers only.",
    )
