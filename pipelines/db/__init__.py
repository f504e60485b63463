"""The app-state database: SQLAlchemy models, Alembic migrations, repositories, the log writer."""

from __future__ import annotations

from pipelines.db.api_keys import (
    NewApiKey,
    authenticate_api_key,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from pipelines.db.dataset_models import Dataset
from pipelines.db.engine import Database, create_db_engine, migrate, open_database, session_factory
from pipelines.db.exchange_keys import ExchangeKey
from pipelines.db.job_models import Job
from pipelines.db.learning_models import TrainedModel
from pipelines.db.logs import add_many, recent, recent_errors, recent_predictions, recent_requests
from pipelines.db.model_owners import ModelOwner, claim_model, drop_model_owner, model_owner
from pipelines.db.models import (
    ROLES,
    TIERS,
    ApiKey,
    Base,
    ErrorLog,
    LoginThrottle,
    LogRow,
    MetricsSnapshot,
    PendingLog,
    PredictionLog,
    RequestLog,
    User,
)
from pipelines.db.strategy_models import STRATEGY_STATUSES, LiveStrategy, StrategyRunState
from pipelines.db.trading_config import TradingConfigRow, load_trading_config_row
from pipelines.db.trading_models import (
    DcaAttemptRow,
    OrderRow,
    PaperBalanceRow,
    PortfolioSnapshotRow,
    TradeRow,
    VenueBalanceRow,
)
from pipelines.db.training_claims import (
    TrainingClaim,
    TrainingGuard,
    active_trainings,
    claim_training,
    release_training,
    renew_training,
)
from pipelines.db.users import (
    UserState,
    create_user,
    find_user,
    get_user,
    get_user_by_email,
    get_user_by_username,
    list_users,
    load_user_state,
)
from pipelines.db.webhook_models import DELIVERY_STATUSES, Webhook, WebhookDelivery
from pipelines.db.writer import BufferedLogWriter, WriterStats

__all__ = [
    "DELIVERY_STATUSES",
    "ROLES",
    "STRATEGY_STATUSES",
    "TIERS",
    "ApiKey",
    "Base",
    "BufferedLogWriter",
    "Database",
    "Dataset",
    "DcaAttemptRow",
    "ErrorLog",
    "ExchangeKey",
    "Job",
    "LiveStrategy",
    "LogRow",
    "LoginThrottle",
    "MetricsSnapshot",
    "ModelOwner",
    "NewApiKey",
    "OrderRow",
    "PaperBalanceRow",
    "PendingLog",
    "PortfolioSnapshotRow",
    "PredictionLog",
    "RequestLog",
    "StrategyRunState",
    "TradeRow",
    "TradingConfigRow",
    "TrainedModel",
    "TrainingClaim",
    "TrainingGuard",
    "User",
    "UserState",
    "VenueBalanceRow",
    "Webhook",
    "WebhookDelivery",
    "WriterStats",
    "active_trainings",
    "add_many",
    "authenticate_api_key",
    "claim_model",
    "claim_training",
    "create_api_key",
    "create_db_engine",
    "create_user",
    "drop_model_owner",
    "find_user",
    "get_user",
    "get_user_by_email",
    "get_user_by_username",
    "list_api_keys",
    "list_users",
    "load_trading_config_row",
    "load_user_state",
    "migrate",
    "model_owner",
    "open_database",
    "recent",
    "recent_errors",
    "recent_predictions",
    "recent_requests",
    "release_training",
    "renew_training",
    "revoke_api_key",
    "session_factory",
]
