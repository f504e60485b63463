"""What a user's stored paper records a book does not hold count for its rules: the cash their open
orders and shorts hold and the value of their active positions, read from the database when asked."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.trading.book import HeldElsewhere
from pipelines.trading.broker import OrderStatus, Side
from pipelines.trading.equity import StoredValue, active_value
from pipelines.trading.fills import CostModel
from pipelines.trading.records import ZERO, OrderPurpose, TradeSide, TradeStatus
from pipelines.trading.reserve import order_cost, quote_asset

__all__ = ["notional_of", "store_holds", "store_values"]

_MARGIN = "margin"  # the side column of a short's margin row
# Per (symbol, side): the notional of a user's open paper entry and addition orders (a market order at
# its trade's last price), and per symbol: the entry notional of their active paper shorts (margin).
_HOLDING_ORDERS = (
    select(
        OrderRow.symbol,
        OrderRow.side,
        func.sum(
            OrderRow.quantity * func.coalesce(OrderRow.price, TradeRow.last_price, TradeRow.entry_price)
        ),
    )
    .join(TradeRow, TradeRow.id == OrderRow.trade_id)
    .where(
        OrderRow.user_id == bindparam("user"),
        OrderRow.status == OrderStatus.OPEN.value,
        OrderRow.purpose != OrderPurpose.EXIT.value,
        OrderRow.broker == "paper",
        OrderRow.trade_id.not_in(bindparam("skip", expanding=True)),
    )
    .group_by(OrderRow.symbol, OrderRow.side)
)
_SHORTS = (
    select(TradeRow.symbol, literal(_MARGIN), func.sum(TradeRow.quantity * TradeRow.entry_price))
    .where(
        TradeRow.user_id == bindparam("user"),
        TradeRow.status == TradeStatus.ACTIVE.value,
        TradeRow.side == TradeSide.SHORT.value,
        TradeRow.broker == "paper",
        TradeRow.id.not_in(bindparam("skip", expanding=True)),
    )
    .group_by(TradeRow.symbol)
)
_HOLDING = union_all(_HOLDING_ORDERS, _SHORTS)
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


def store_holds(session: Session, costs: Callable[[], CostModel]) -> HeldElsewhere:
    """What the user's stored paper records other than the trades ``skip`` (a book holds those) hold
    in ``asset``: the estimated cost of the open entry and addition orders (at ``costs()``) and the
    active shorts' margin (see ``pipelines.trading.reserve``), summed by the database (a float on
    SQLite, precise enough for a balance check)."""

    def held(user_id: str, asset: str, skip: frozenset[str]) -> Decimal:
        total = ZERO
        rows = session.connection().execute(_HOLDING, {"user": user_id, "skip": list(skip)})
        for symbol, side, notional in rows:
            if notional is None or quote_asset(symbol) != asset:
                continue
            if side == _MARGIN:
                total += notional_of(notional)
            else:  # an order's cost is linear in its notional
                total += order_cost(costs(), Side(side), Decimal(1), notional_of(notional))
        return total

    return held


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
