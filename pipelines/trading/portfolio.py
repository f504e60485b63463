"""A user's portfolio: paper cash plus the open positions marked to the latest price, and its pnl
against the previous day's snapshot and against the starting balance (pure: no store, no web).

Cash is the sum of the user's paper balances (one per quote currency, each started at the initial
balance; USDT counted as USD). A long position is worth ``quantity * price``; a short one its pnl,
``quantity * (entry - price)`` (its sale brought no cash: its notional is held as margin), so
``total_value = cash + positions_value`` equals the starting balance plus every pnl, net of
commission. ``reserved`` is the part of the cash open orders and short margin hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pipelines.trading.records import ZERO, Trade, TradeStatus

__all__ = ["Holding", "PortfolioState", "holdings", "portfolio_state"]

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Holding:
    """One active trade as a position, marked at ``current_price``."""

    trade_id: str
    symbol: str
    side: str  # long | short
    quantity: Decimal
    entry_price: Decimal
    current_price: Decimal
    pnl: Decimal  # net of the commission paid so far
    pnl_pct: Decimal | None  # percent of the entry notional
    opened_at: dt.datetime | None

    @property
    def value(self) -> Decimal:
        """A long's market value; a short's pnl before commission (its margin is part of the cash)."""
        if self.side == "long":
            return self.quantity * self.current_price
        return self.quantity * (self.entry_price - self.current_price)


@dataclass(frozen=True, slots=True)
class PortfolioState:
    total_value: Decimal
    cash: Decimal
    positions_value: Decimal
    positions: tuple[Holding, ...]
    daily_pnl: Decimal
    daily_pnl_pct: Decimal | None
    total_pnl: Decimal
    total_pnl_pct: Decimal | None
    reserved: Decimal = ZERO  # the part of ``cash`` held by open orders and short margin

    def positions_json(self) -> list[dict[str, str | None]]:
        """The positions as JSON (decimal strings), as a snapshot stores them."""
        return [
            {
                "trade_id": h.trade_id,
                "symbol": h.symbol,
                "side": h.side,
                "quantity": str(h.quantity),
                "entry_price": str(h.entry_price),
                "current_price": str(h.current_price),
                "value": str(h.value),
                "pnl": str(h.pnl),
            }
            for h in self.positions
        ]


def holdings(trades: Sequence[Trade], prices: Mapping[str, Decimal]) -> list[Holding]:
    """The active trades marked at ``prices`` (a symbol without one: its last seen price, else the
    entry), oldest first; pending and closed trades hold nothing."""
    out = []
    for trade in sorted(trades, key=lambda t: (t.opened_at or t.created_at, t.id)):
        if trade.status is not TradeStatus.ACTIVE or trade.entry_price is None:
            continue
        price = prices.get(trade.symbol) or trade.last_price or trade.entry_price
        pnl = trade.sign * (price - trade.entry_price) * trade.quantity - trade.commission
        notional = trade.entry_price * trade.quantity
        out.append(
            Holding(
                trade.id,
                trade.symbol,
                trade.side.value,
                trade.quantity,
                trade.entry_price,
                price,
                pnl,
                pnl / notional * HUNDRED if notional else None,
                trade.opened_at or trade.created_at,
            )
        )
    return out


def _pct(change: Decimal, base: Decimal) -> Decimal | None:
    return change / base * HUNDRED if base else None


def portfolio_state(
    cash: Decimal,
    positions: Sequence[Holding],
    *,
    starting: Decimal,
    previous_total: Decimal | None,
    reserved: Decimal = ZERO,
) -> PortfolioState:
    """The portfolio from its cash and positions; ``daily_pnl`` is against ``previous_total`` (the
    previous day's snapshot; None: against ``starting``, the balance the user started with)."""
    positions_value = sum((h.value for h in positions), ZERO)
    total = cash + positions_value
    base = starting if previous_total is None else previous_total
    return PortfolioState(
        total_value=total,
        cash=cash,
        positions_value=positions_value,
        positions=tuple(positions),
        daily_pnl=total - base,
        daily_pnl_pct=_pct(total - base, base),
        total_pnl=total - starting,
        total_pnl_pct=_pct(total - starting, starting),
        reserved=reserved,
    )
