"""Dollar-cost averaging: a further entry each time the price falls a step below the average entry
(rises above it for a short), up to a number of attempts, each attempt's volume scaled."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipelines.trading.records import Trade, TradeStatus

__all__ = ["DcaSettings", "dca_due", "dca_volume"]


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
