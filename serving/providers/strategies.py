"""What the live strategy routes (/api/strategies) need: the store, each call in one transaction."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.db import Database
from pipelines.trading.strategy_store import StrategyStore, refusals_of, strategy_row
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["STRATEGIES", "StrategiesDep", "StrategiesProvider"]


class StrategiesProvider:
    def __init__(self, *, database: Database, store: StrategyStore) -> None:
        self._database = database
        self.store = store

    def create(self, principal: Principal, name: Any, type_: Any, params: Any) -> dict[str, Any]:
        with self._database.transaction() as session:
            return strategy_row(self.store.create(session, principal.user_id, name, type_, params))

    def list(self, principal: Principal, *, limit: int, offset: int) -> list[dict[str, Any]]:
        """The caller's strategies (an admin: everyone's)."""
        with self._database.session() as session:
            rows = self.store.list(session, principal.scope_user_id, limit=limit, offset=offset)
            refused = refusals_of(session, [r.id for r in rows])
            return [{**strategy_row(r), **refused.get(r.id, {})} for r in rows]

    def get(self, principal: Principal, strategy_id: str) -> dict[str, Any]:
        with self._database.session() as session:
            record = self._owned(session, principal, strategy_id)
            return {**strategy_row(record), **refusals_of(session, [record.id]).get(record.id, {})}

    def update(self, principal: Principal, strategy_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self._database.transaction() as session:
            record = self._owned(session, principal, strategy_id)
            return strategy_row(self.store.update(session, record, changes))

    def set_active(self, principal: Principal, strategy_id: str, active: bool) -> dict[str, Any]:
        with self._database.transaction() as session:
            record = self._owned(session, principal, strategy_id)
            change = self.store.activate if active else self.store.deactivate
            return strategy_row(change(session, record))

    def delete(self, principal: Principal, strategy_id: str) -> None:
        with self._database.transaction() as session:
            self.store.delete(session, self._owned(session, principal, strategy_id))

    def _owned(self, session: Any, principal: Principal, strategy_id: str) -> Any:
        return self.store.get(session, strategy_id, user_id=principal.user_id, is_admin=principal.is_admin)


StrategiesDep = NamedDependency[StrategiesProvider]


def _provide(state: State) -> StrategiesProvider:
    provider: StrategiesProvider = state.container.strategies_provider
    return provider


def _principal(strategies: StrategiesDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


STRATEGIES = provides("strategies", _provide, _principal)
"""The dependencies of the strategy controller: ``strategies: StrategiesDep`` and ``principal``."""
