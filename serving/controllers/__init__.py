"""Route handlers grouped by resource."""

from __future__ import annotations

from typing import Any

from serving.controllers.analytics import AnalyticsController
from serving.controllers.auth import ApiKeyController, AuthController, legacy_login
from serving.controllers.backtests import BacktestController
from serving.controllers.docs import docs_handlers
from serving.controllers.health import health_handlers
from serving.controllers.jobs import JobController, SystemController, job_alias
from serving.controllers.market import MarketController
from serving.controllers.models import ModelController
from serving.controllers.monitoring import MonitoringController
from serving.controllers.predictions import PredictController, PredictionsController
from serving.controllers.users import UserController
from serving.controllers.webhooks import WebhookController
from serving.controllers.ws import ws_handlers

__all__ = ["ROUTE_HANDLERS"]

ROUTE_HANDLERS: list[Any] = [
    *docs_handlers,
    *health_handlers,
    AuthController,
    legacy_login,
    ApiKeyController,
    UserController,
    ModelController,
    PredictController,
    PredictionsController,
    MarketController,
    AnalyticsController,
    BacktestController,
    MonitoringController,
    WebhookController,
    JobController,
    job_alias,
    SystemController,
    *ws_handlers,
]
