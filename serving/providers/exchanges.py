"""What the exchange-key routes (/api/keys) and the venue health checks need: the key use cases and
the health checks, over the exchange-credentials store."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.exchange_keys import ExchangeKeys
from pipelines.app.venue_health import VenueHealth
from pipelines.db import Database
from pipelines.jobs import JobQueue
from pipelines.security.secretbox import EXCHANGE_CREDENTIALS, SecretBox
from pipelines.settings import Settings
from pipelines.trading.credentials import ExchangeKeyStore
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["EXCHANGES", "ExchangesDep", "ExchangesProvider"]


class ExchangesProvider:
    def __init__(self, *, settings: Settings, database: Database, jobs: JobQueue) -> None:
        box = SecretBox.from_settings(settings, purpose=EXCHANGE_CREDENTIALS)
        store = ExchangeKeyStore(box, max_per_user=settings.exchanges.max_exchange_keys_per_user)
        self.store = store
        self.jobs = jobs
        self.keys = ExchangeKeys(database, store)
        self.health = VenueHealth(settings, database, store)

    def __repr__(self) -> str:
        return "ExchangesProvider(...)"


ExchangesDep = NamedDependency[ExchangesProvider]


def _provide(state: State) -> ExchangesProvider:
    provider: ExchangesProvider = state.container.exchanges_provider
    return provider


def _principal(exchanges: ExchangesDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


EXCHANGES = provides("exchanges", _provide, _principal)
"""The dependencies of the exchange controllers: ``exchanges: ExchangesDep`` and ``principal``."""
