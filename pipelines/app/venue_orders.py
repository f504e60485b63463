"""An exchange trade's orders as rows: the entry recorded with its trade, the closing order, and the
venue's answers about either applied to the order and its trade (the venue's fill price, quantity and
commission are the trade's)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session

from pipelines.db.ledger_versions import bump_ledgers
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.db.types import utc_now
from pipelines.trading.broker import OrderRequest, OrderState, OrderStatus, OrderType, Side

__all__ = [
    "apply_entry",
    "apply_exit",
    "apply_state",
    "exit_client_id",
    "exit_request",
    "record_entry",
    "record_exit",
]

ENTRY, EXIT = "entry", "exit"


def exit_client_id(trade_id: str, attempt: int = 0) -> str:
    """The closing order's client order id, derived from the trade and the attempt (a new attempt only
    after the venue cancelled or refused the last): a retried close finds the order the venue took
    (36 characters at most, Binance's limit)."""
    digits = uuid.UUID(trade_id).hex
    return f"tfx{digits}" if attempt == 0 else f"tfx{digits[:29]}r{attempt % 100:02d}"


def _order_row(request: OrderRequest, venue: str, purpose: str, trade_id: str, now: dt.datetime) -> OrderRow:
    zero = request.quantity * 0
    return OrderRow(
        user_id=request.user_id,
        client_order_id=request.client_order_id,
        broker=venue,
        symbol=request.symbol,
        side=request.side.value,
        type=request.order_type.value,
        purpose=purpose,
        quantity=request.quantity,
        price=request.price,
        status=OrderStatus.OPEN.value,
        filled_quantity=zero,
        commission=zero,
        trade_id=trade_id,
        created_at=now,
    )


def record_entry(
    session: Session, venue: str, request: OrderRequest, state: OrderState, levels: dict[str, Any]
) -> TradeRow:
    """A new trade and its entry order, with the venue's answer applied (``levels``: stop-loss,
    take-profit, strategy id and the key's environment)."""
    bump_ledgers(session, [request.user_id])  # before the write (see pipelines.db.ledger_versions)
    now = utc_now()
    zero = request.quantity * 0
    trade = TradeRow(
        id=str(uuid.uuid4()),
        user_id=request.user_id,
        symbol=request.symbol,
        side="long" if request.side is Side.BUY else "short",
        broker=venue,
        status="pending",
        quantity=request.quantity,
        realized_pnl=zero,
        commission=zero,
        last_price=request.price,
        created_at=now,
        dca_enabled=False,
        max_dca_attempts=0,
        **levels,
    )
    session.add(trade)
    session.flush()  # the order refers to it
    order = _order_row(request, venue, ENTRY, trade.id, now)
    order.venue_order_id = state.order_id
    session.add(order)
    apply_entry(order, trade, state, now)
    session.flush()
    return trade


def exit_request(trade: TradeRow, attempt: int = 0) -> OrderRequest:
    """The trade's closing market order: the opposite side, its whole (filled) quantity."""
    side = Side.SELL if trade.side == "long" else Side.BUY
    client_id = exit_client_id(trade.id, attempt)
    return OrderRequest(trade.user_id, trade.symbol, side, trade.quantity, client_id, OrderType.MARKET)


def record_exit(
    session: Session, trade: TradeRow, request: OrderRequest, state: OrderState, reason: str
) -> OrderRow:
    """The trade's closing order ``request``, the venue's answer applied; ``reason`` is the trade's
    close reason."""
    bump_ledgers(session, [trade.user_id])
    now = utc_now()
    order = _order_row(request, trade.broker, EXIT, trade.id, now)
    order.venue_order_id = state.order_id
    session.add(order)
    trade.close_reason = reason[:200]
    apply_exit(order, trade, state, now)
    session.flush()
    return order


def apply_state(order: OrderRow, trade: TradeRow, state: OrderState, now: dt.datetime) -> None:
    """The venue's state of ``order`` onto it and its trade, by the order's purpose."""
    (apply_exit if order.purpose == EXIT else apply_entry)(order, trade, state, now)


def _onto(order: OrderRow, state: OrderState, now: dt.datetime) -> None:
    order.status, order.reason, order.updated_at = state.status.value, state.reason, now
    fill = state.fill
    if fill is not None:
        order.filled_quantity, order.average_price, order.commission = (
            fill.quantity,
            fill.price,
            fill.commission,
        )


def apply_entry(order: OrderRow, trade: TradeRow, state: OrderState, now: dt.datetime) -> None:
    """The venue's state of the entry order onto its row and its trade."""
    _onto(order, state, now)
    fill = state.fill
    if fill is not None:
        trade.quantity, trade.entry_price, trade.commission = fill.quantity, fill.price, fill.commission
        trade.last_price = trade.last_price or fill.price
        trade.status, trade.opened_at = "active", trade.opened_at or fill.timestamp
    elif state.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        trade.status, trade.closed_at = "cancelled", now
        trade.close_reason = state.reason
    trade.updated_at = now


def apply_exit(order: OrderRow, trade: TradeRow, state: OrderState, now: dt.datetime) -> None:
    """The venue's state of the closing order: once filled, the trade is closed at the venue's fill
    price, its commission the entry's plus the exit's and its pnl net of both."""
    _onto(order, state, now)
    fill = state.fill
    trade.updated_at = now
    if state.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) and trade.status == "active":
        trade.close_reason = None  # still open: a close may be tried again
    if state.status is not OrderStatus.FILLED or fill is None or trade.status == "closed":
        return
    entry = trade.entry_price if trade.entry_price is not None else fill.price
    sign = 1 if trade.side == "long" else -1
    trade.commission += fill.commission
    trade.realized_pnl = sign * (fill.price - entry) * fill.quantity - trade.commission
    trade.exit_price, trade.last_price = fill.price, fill.price
    trade.status, trade.closed_at = "closed", fill.timestamp
