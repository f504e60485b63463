"""What the configuration routes (/api/config) need: the caller's stored trading configuration,
read and updated in the database (each caller their own; an admin's is their own too)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.trading_config import load_config, update_config
from pipelines.db import Database
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["CONFIG", "ConfigDep", "ConfigProvider"]


class ConfigProvider:
    def __init__(self, *, database: Database) -> None:
        self._database = database

    def get(self, principal: Principal) -> dict[str, Any]:
        with self._database.session() as session:
            return load_config(session, principal.user_id).as_json()

    def update(self, principal: Principal, patch: Any) -> list[str]:
        """Apply ``patch``; the dotted fields it changed (nothing stored when it is refused)."""
        _, updated = update_config(self._database.transaction, principal.user_id, patch)
        return updated


ConfigDep = NamedDependency[ConfigProvider]


def _provide(state: State) -> ConfigProvider:
    provider: ConfigProvider = state.container.config_provider
    return provider


def _principal(config: ConfigDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


CONFIG = provides("config", _provide, _principal)
"""The dependencies of the configuration controller: ``config: ConfigDep`` and ``principal``."""
