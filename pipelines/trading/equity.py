"""A paper account's equity, what the drawdown rule measures: its cash plus its active positions marked
to their last price (a long: its notional; a short: its pnl, its margin being part of the cash).

A store's book holds only some of a user's trades; :class:`Valuation` adds the value of the others
from one read per user and quote currency: the stored total less the stored value of those loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from pipelines.trading.records import ZERO, Trade, TradeSide, TradeStatus
from pipelines.trading.reserve import quote_asset

__all__ = ["PAPER", "StoredValue", "Valuation", "active_value", "position_value"]

PAPER = "paper"  # the ledger's trades (a venue's positions are in its own balances)
# (user, quote asset) -> the value of the user's stored active paper positions in that asset
StoredValue = Callable[[str, str], Decimal]


def position_value(trade: Trade) -> Decimal:
    """What an active paper position adds to its cash: a long's notional, a short's pnl, marked to the
    last price (else the entry); zero for anything else."""
    if trade.status is not TradeStatus.ACTIVE or trade.broker != PAPER:
        return ZERO
    return active_value(trade.side.value, trade.quantity, trade.last_price, trade.entry_price)


def active_value(side: str, quantity: Decimal, last: Decimal | None, entry: Decimal | None) -> Decimal:
    """:func:`position_value` of an active paper position from its stored columns."""
    mark = last or entry or ZERO
    if side == TradeSide.LONG.value:
        return quantity * mark
    return quantity * ((entry or mark) - mark)


class Valuation:
    """Values a user's positions in one quote currency: those a book holds, plus (with ``stored``, a
    store's) those it did not load."""

    def __init__(self) -> None:
        self.stored: StoredValue | None = None  # None: the book holds every position
        self._loaded: dict[tuple[str, str], Decimal] = {}  # stored value of the trades loaded
        self._totals: dict[tuple[str, str], Decimal] = {}  # stored value of all, read once

    def loaded(self, trade: Trade) -> None:
        """Count a stored trade a book loads (once; its value as stored)."""
        key = (trade.user_id, quote_asset(trade.symbol))
        self._loaded[key] = self._loaded.get(key, ZERO) + position_value(trade)

    def equity(self, balance: Decimal, trades: Iterable[Trade], user_id: str, asset: str) -> Decimal:
        """``balance`` plus the value of the user's positions in ``asset``: ``trades`` (those held)
        and the stored ones not loaded."""
        total = balance
        for trade in trades:
            if trade.user_id == user_id and quote_asset(trade.symbol) == asset:
                total += position_value(trade)
        if self.stored is None:
            return total
        key = (user_id, asset)
        if key not in self._totals:
            self._totals[key] = self.stored(user_id, asset)
        return total + self._totals[key] - self._loaded.get(key, ZERO)
