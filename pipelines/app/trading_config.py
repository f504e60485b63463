"""Use cases of a user's trading configuration: read it (defaults until first saved) and apply a
partial update atomically (``GET`` / ``PUT /api/config``; the trading core reads it too)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.db.ledger_versions import bump_ledgers
from pipelines.db.trading_config import TradingConfigRow, load_trading_config_row
from pipelines.trading.config import TradingConfig, default_config, merge, parse_config

__all__ = ["load_config", "update_config"]

Transaction = Callable[[], AbstractContextManager[Session]]


def load_config(session: Session, user_id: str) -> TradingConfig:
    """``user_id``'s configuration: the stored one, or the defaults when none is stored."""
    row = load_trading_config_row(session, user_id)
    return default_config() if row is None else parse_config(row.data)


def _update_once(session: Session, user_id: str, patch: object) -> tuple[TradingConfig, list[str]]:
    row = load_trading_config_row(session, user_id, for_update=True)
    current = default_config() if row is None else parse_config(row.data)
    new, updated = merge(current, patch)  # raises before anything is written
    if not updated:
        return current, updated
    bump_ledgers(session, [user_id])  # the limits a kept ledger trades under changed
    if row is None:
        session.add(TradingConfigRow(user_id=user_id, data=new.as_json()))
    else:
        row.data = new.as_json()
        row.version += 1
    session.flush()
    return new, updated


def update_config(transaction: Transaction, user_id: str, patch: object) -> tuple[TradingConfig, list[str]]:
    """Apply ``patch`` (sections of fields) to ``user_id``'s configuration in one transaction; the
    new configuration and the dotted fields whose value changed.

    The row is read under a lock, so overlapping updates apply one after the other (the last
    writer wins per field; no field is lost). Two first saves racing to insert the row: the loser
    retries once, then merges onto the winner's row. A refused patch
    (``ConfigValidationError``) writes nothing."""
    for attempt in range(2):
        try:
            with transaction() as session:
                return _update_once(session, user_id, patch)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")
