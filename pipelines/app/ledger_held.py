"""What a user's stored paper records a book does not hold count for its rules: the value of their
active positions, read from the database when asked (the cash their open orders and shorts hold is
kept in the balance rows)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pipelines.db.trading_models import TradeRow
from pipelines.trading.equity import StoredValue, active_value
from pipelines.trading.records import ZERO, TradeStatus
from pipelines.trading.reserve import quote_asset

__all__ = ["notional_of", "store_values"]

# A user's active paper trades, what the equity values them by.
_ACTIVE = select(
    TradeRow.symbol, TradeRow.side, TradeRow.quantity, TradeRow.last_price, TradeRow.entry_price
).where(
    TradeRow.user_id == bindparam("user"),
    TradeRow.status == TradeStatus.ACTIVE.value,
    TradeRow.broker == "paper",
)


def notional_of(total: Any) -> Decimal:
    """A :data:`NOTIONAL_SUM` as read (a float on SQLite, a decimal on PostgreSQL) as a decimal."""
    return Decimal(repr(total)) if isinstance(total, float) else Decimal(total)


def store_values(session: Session) -> StoredValue:
    """The value of a user's stored active paper positions in a quote currency, marked to their last
    price (see ``pipelines.trading.equity``); read once per user, exact."""
    read: dict[str, dict[str, Decimal]] = {}

    def value(user_id: str, asset: str) -> Decimal:
        if user_id not in read:
            totals: dict[str, Decimal] = {}
            rows = session.connection().execute(_ACTIVE, {"user": user_id})
            for symbol, side, quantity, last, entry in rows:
                key = quote_asset(symbol)
                totals[key] = totals.get(key, ZERO) + active_value(side, quantity, last, entry)
            read[user_id] = totals
        return read[user_id].get(asset, ZERO)

    return value
