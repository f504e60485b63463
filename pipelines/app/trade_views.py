"""Trades, orders and DCA attempts as the API shows them: decimals as strings, times in UTC."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pipelines.db.types import isoformat_utc
from pipelines.trading.records import DcaAttempt, Order, Trade, TradeSide

__all__ = ["attempt_view", "dec", "order_view", "percent", "trade_view"]

_CENT = Decimal("0.01")


def dec(value: Decimal | None) -> str | None:
    """A decimal as plain text (no exponent, no trailing zeros): ``45000.5``, ``0.00001``."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def percent(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_CENT))


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else isoformat_utc(value)


def trade_view(trade: Trade, limit: Decimal | None = None) -> dict[str, Any]:
    """One trade: ``side`` buy/sell (its entry), ``position_side`` long/short; ``price`` the entry fill,
    or until then the entry's limit price ``limit`` (null for a market entry); pnl marked to the latest
    price while active, realized once closed."""
    return {
        "id": trade.id,
        "user_id": trade.user_id,
        "symbol": trade.symbol,
        "side": "buy" if trade.side is TradeSide.LONG else "sell",
        "position_side": trade.side.value,
        "broker": trade.broker,
        "amount": dec(trade.quantity),
        "price": dec(trade.entry_price if trade.entry_price is not None else limit),
        "entry_price": dec(trade.entry_price),
        "current_price": dec(trade.last_price),
        "exit_price": dec(trade.exit_price),
        "stop_loss": dec(trade.stop_loss),
        "take_profit": dec(trade.take_profit),
        "pnl": dec(trade.pnl()),
        "pnl_percent": percent(trade.pnl_percent()),
        "commission": dec(trade.commission),
        "status": trade.status.value,
        "dca_enabled": trade.dca_enabled,
        "max_dca_attempts": trade.max_dca_attempts,
        "strategy_id": trade.strategy_id,
        "close_reason": trade.close_reason,
        "created_at": _time(trade.created_at),
        "updated_at": _time(trade.updated_at or trade.created_at),
        "closed_at": _time(trade.closed_at),
    }


def attempt_view(attempt: DcaAttempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "trade_id": attempt.trade_id,
        "attempt": attempt.attempt,
        "price": dec(attempt.price),
        "volume": dec(attempt.volume),
        "amount": dec(attempt.volume),
        "success": attempt.success,
        "reason": attempt.reason,
        "timestamp": _time(attempt.timestamp),
    }


def order_view(order: Order) -> dict[str, Any]:
    """One order: ``purpose`` entry, dca or exit; ``price`` the limit price, ``average_price`` the fill."""
    return {
        "order_id": order.id,
        "client_order_id": order.client_order_id,
        "trade_id": order.trade_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.order_type.value,
        "purpose": order.purpose.value,
        "status": order.status.value,
        "amount": dec(order.quantity),
        "filled_amount": dec(order.filled_quantity),
        "price": dec(order.price),
        "average_price": dec(order.average_price),
        "commission": dec(order.commission),
        "reason": order.reason,
        "timestamp": _time(order.updated_at or order.created_at),
    }
