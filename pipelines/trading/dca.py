"""Dollar-cost averaging: a further entry each time the price falls a step below the average entry
(rises above it for a short), up to a number of attempts, each attempt's volume scaled."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from pipelines.backtest.costs import entry_units, fill_price
from pipelines.trading.broker import Side
from pipelines.trading.records import Trade, TradeStatus, exact

if TYPE_CHECKING:
    from pipelines.trading.book import PaperBook

__all__ = ["DcaSettings", "dca_due", "dca_volume", "maybe_dca"]


@dataclass(frozen=True, slots=True)
class DcaSettings:
    """How DCA places safety orders: ``step`` below the average entry, each ``volume_scaling`` times
    the previous one's volume, starting at ``base_volume``, at most ``max_attempts`` per trade (and
    never more than the trade's own ``max_dca_attempts``). A user's stored configuration gives them
    (``TradingConfig.dca_settings()``)."""

    enabled: bool = True
    max_attempts: int = 5
    base_volume: Decimal = Decimal(100)  # quote currency of the first attempt
    volume_scaling: Decimal = Decimal("1.5")  # each attempt's volume over the previous one's
    step: Decimal = Decimal("0.02")  # fall below the average entry that triggers one, a fraction


def dca_volume(settings: DcaSettings, attempt: int) -> Decimal:
    """Quote-currency volume of attempt ``attempt`` (1-based)."""
    return settings.base_volume * settings.volume_scaling ** (attempt - 1)


def dca_due(settings: DcaSettings, trade: Trade, attempts_made: int, price: Decimal) -> bool:
    """Whether ``price`` calls for the trade's next DCA attempt."""
    if not (settings.enabled and trade.dca_enabled and trade.status is TradeStatus.ACTIVE):
        return False
    if trade.entry_price is None or attempts_made >= min(trade.max_dca_attempts, settings.max_attempts):
        return False
    if trade.sign > 0:
        return price <= trade.entry_price * (1 - settings.step)
    return price >= trade.entry_price * (1 + settings.step)


def maybe_dca(book: PaperBook, trade: Trade, price: Decimal, at: dt.datetime) -> None:
    """Place the trade's next DCA order in ``book`` when ``price`` is a step past its average entry."""
    _, dca = book.limits_for(trade.user_id)
    made = book.attempts_of(trade.id)
    if book.open_orders(trade.id):
        return
    last_failed = made[-1].price if made and not made[-1].success else None
    probe = price if last_failed is None else price * (trade.entry_price or price) / last_failed
    if dca_due(dca, trade, len(made), probe):
        volume = dca_volume(dca, len(made) + 1)
        side = 1 if trade.side.entry is Side.BUY else -1
        estimate = fill_price(side, float(price), book.costs.slippage)
        units = exact(entry_units(float(volume), estimate, book.costs.commission))
        book.dca_order(trade, units, price, at, f"dca-{trade.id}-{len(made) + 1}")
