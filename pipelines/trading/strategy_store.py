"""Users' live strategies in the database: create, list, read, update, delete, (de)activate.

The caller owns the session and commits (``Database.transaction()``), so each change is one
transaction. A user reaches only their own strategies (another user's id reads as not found); an
admin reaches all. Deactivating, and deleting an active strategy, stops its runners through the
:class:`RunnerSwitch` first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.db.strategy_models import LiveStrategy, StrategyRunState
from pipelines.db.types import isoformat_utc, utc_now
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError
from pipelines.trading.strategy_specs import checked_name, checked_spec

__all__ = [
    "MAX_STRATEGIES_PER_USER",
    "NoRunners",
    "RunnerSwitch",
    "StrategyStore",
    "refusals_of",
    "strategy_row",
]

MAX_STRATEGIES_PER_USER = 100


class RunnerSwitch(Protocol):
    """Starts and stops the runners of a strategy (the live trading service implements it)."""

    def start(self, strategy: LiveStrategy) -> None: ...

    def stop(self, strategy_id: str) -> None: ...


class NoRunners:
    """No live service attached: (de)activation only records the status."""

    def start(self, strategy: LiveStrategy) -> None:
        return None

    def stop(self, strategy_id: str) -> None:
        return None


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else isoformat_utc(value)


def refusals_of(session: Session, strategy_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per strategy with runners: the orders the ledger refused its runners (``refused_orders``, over
    its symbols) and the newest refusal's reason (``last_refusal``), from their saved states."""
    query = (
        select(StrategyRunState.strategy_id, StrategyRunState.state)
        .where(StrategyRunState.strategy_id.in_(list(strategy_ids)))
        .order_by(StrategyRunState.updated_at)
    )
    out: dict[str, dict[str, Any]] = {}
    for strategy_id, state in session.execute(query):
        seen = out.setdefault(strategy_id, {"refused_orders": 0, "last_refusal": None})
        seen["refused_orders"] += int(state.get("refusals", 0))
        seen["last_refusal"] = state.get("last_refusal") or seen["last_refusal"]
    return out


def strategy_row(record: LiveStrategy) -> dict[str, Any]:
    """What the API shows of a strategy."""
    return {
        "id": record.id,
        "name": record.name,
        "type": record.type,
        "status": record.status,
        "params": dict(record.params),
        "user_id": record.user_id,
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "activated_at": _iso(record.activated_at),
    }


class StrategyStore:
    def __init__(self, runners: RunnerSwitch | None = None) -> None:
        self.runners: RunnerSwitch = runners or NoRunners()

    def create(self, session: Session, user_id: str, name: Any, type_: Any, params: Any) -> LiveStrategy:
        clean_name = checked_name(name)
        spec = checked_spec(type_, params)
        owned = session.scalar(select(func.count()).where(LiveStrategy.user_id == user_id)) or 0
        if owned >= MAX_STRATEGIES_PER_USER:
            raise ConflictError(f"a user may have at most {MAX_STRATEGIES_PER_USER} strategies")
        record = LiveStrategy(user_id=user_id, name=clean_name, type=spec.type, params=spec.params)
        session.add(record)
        session.flush()
        return record

    def list(
        self, session: Session, user_id: str | None, *, limit: int, offset: int = 0
    ) -> Sequence[LiveStrategy]:
        """``user_id``'s strategies (None: an admin asking, everyone's), oldest first, one page."""
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidRequestError("limit must be between 1 and 500 and offset >= 0")
        query = select(LiveStrategy).order_by(LiveStrategy.created_at, LiveStrategy.id)
        if user_id is not None:
            query = query.where(LiveStrategy.user_id == user_id)
        return session.scalars(query.limit(limit).offset(offset)).all()

    def get(
        self, session: Session, strategy_id: str, *, user_id: str, is_admin: bool = False
    ) -> LiveStrategy:
        record = session.get(LiveStrategy, strategy_id)
        if record is None or (record.user_id != user_id and not is_admin):
            raise DataNotFoundError(f"strategy {strategy_id!r} not found")
        return record

    def update(self, session: Session, record: LiveStrategy, changes: dict[str, Any]) -> LiveStrategy:
        """Rename, or change the type/params of an inactive strategy (validated as on create)."""
        if "name" in changes:
            record.name = checked_name(changes["name"])
        if "type" in changes or "params" in changes:
            if record.status == "active":
                raise ConflictError("deactivate the strategy before changing its type or params")
            spec = checked_spec(changes.get("type", record.type), changes.get("params", record.params))
            record.type, record.params = spec.type, spec.params
        record.updated_at = utc_now()
        session.flush()
        return record

    def activate(self, session: Session, record: LiveStrategy) -> LiveStrategy:
        if record.status != "active":
            checked_spec(record.type, record.params)  # still valid under today's registry
            record.status = "active"
            record.activated_at = record.updated_at = utc_now()
            session.flush()
            self.runners.start(record)
        return record

    def deactivate(self, session: Session, record: LiveStrategy) -> LiveStrategy:
        if record.status == "active":
            self.runners.stop(record.id)
            record.status = "inactive"
            record.updated_at = utc_now()
            session.flush()
        return record

    def delete(self, session: Session, record: LiveStrategy) -> None:
        self.deactivate(session, record)
        session.delete(record)
        session.flush()
