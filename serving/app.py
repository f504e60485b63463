"""``create_app(settings)`` builds the Litestar app; ``tradeforge serve`` runs it on uvicorn.

Routes are grouped by resource in ``serving/controllers``; handlers are thin: parse, call one
function of ``pipelines/``, shape the answer. The app container (database, registry, limiter, ...) is
opened in the app's lifespan; each controller family is injected its own provider
(``serving/providers``), never the container.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from pipelines.settings import Settings, get_settings
from serving.context import Principal
from serving.controllers import ROUTE_HANDLERS
from serving.controllers.botapi_backtests import BotBacktestController
from serving.controllers.botapi_keys import BotKeyController
from serving.controllers.botapi_market import BotMarketController
from serving.controllers.botapi_models import BotModelController
from serving.controllers.botapi_predictions import BotPredictionController
from serving.controllers.botapi_strategies import BotStrategyController
from serving.controllers.datasets import dataset_router
from serving.controllers.docs import redoc_plugin, swagger_plugin
from serving.controllers.learning import learning_routers
from serving.controllers.portfolio import PortfolioController
from serving.controllers.status import status_handlers
from serving.controllers.trades import DcaController, TradesController
from serving.controllers.venues import venue_handlers
from serving.errors import exception_handlers
from serving.jsondepth import refuse_deep_json
from serving.middleware import ApiMiddleware, before_send
from serving.providers.wiring import authenticated
from serving.schemas import document_answers
from serving.startup import open_container

__all__ = ["create_app", "create_app_from_env"]

VERSION = "0.1.0"

# Exchange keys, market data, the model catalogue, forecasts, backtests and live strategies under
# /api/keys, /api/market, /api/models, /api/predictions, /api/backtests and /api/strategies.
BOT_API = [
    BotKeyController,
    BotMarketController,
    BotModelController,
    BotPredictionController,
    BotBacktestController,
    BotStrategyController,
]
# Paper trades and DCA under /api/trades and /api/dca; the paper portfolio under /portfolio.
TRADING_API = [TradesController, DcaController, PortfolioController]

HANDLERS = [*ROUTE_HANDLERS, *status_handlers, *venue_handlers, *BOT_API, *TRADING_API]


def _principal(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller of a handler outside the controller families (each family chains
    its own ``principal`` after its provider: ``serving/providers/wiring.py``)."""
    return authenticated(request)


def create_app(settings: Settings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.container = await open_container(settings)
        # Everything made at start-up lives as long as the app: keep it out of the collector's
        # full passes, which otherwise set the tail latency under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await app.state.container.aclose()

    app = Litestar(
        route_handlers=[*HANDLERS, dataset_router(settings), *learning_routers(settings)],
        lifespan=[lifespan],
        dependencies={"principal": Provide(_principal, sync_to_thread=False)},
        middleware=[ApiMiddleware],
        before_request=refuse_deep_json,
        before_send=[before_send],
        exception_handlers=exception_handlers,
        cors_config=CORSConfig(
            allow_origins=list(settings.serving.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ],
            allow_credentials=True,
        ),
        openapi_config=OpenAPIConfig(
            title="Tradeforge API",
            version=VERSION,
            description=(
                "Predictions, models, market data, backtests and monitoring of the Tradeforge ML trading "
                "platform. Authenticate with `Authorization: Bearer <access token>` (POST /auth/login) "
                "or `X-API-Key` (POST /api/v1/auth/keys)."
            ),
            path="/schema",
            render_plugins=[swagger_plugin("/swagger"), redoc_plugin("/redoc")],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "ApiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                }
            ),
            security=[{"BearerToken": []}, {"ApiKey": []}],
        ),
        debug=False,
    )
    document_answers(app)
    return app


def create_app_from_env() -> Litestar:
    """The app on the environment's settings (the uvicorn factory of ``tradeforge serve``)."""
    return create_app(get_settings())
