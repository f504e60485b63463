"""What a new trade asks for, and the checks of it that need no ledger: its price levels' sides, the
default levels' rounding, and that a venue's trade is changed at the venue only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipelines.errors import ConflictError, InvalidRequestError
from pipelines.trading.broker import Side
from pipelines.trading.records import Trade, TradeSide, round_price

__all__ = ["PAPER", "TradeRequest", "check_levels", "level", "paper_only"]

PAPER = "paper"  # the broker whose open trades settle from stored bars (venues settle themselves)


@dataclass(frozen=True, slots=True)
class TradeRequest:
    """A new trade: ``price`` makes its entry a limit order (else market at the next bar's open)."""

    symbol: str
    side: Side
    amount: Decimal
    price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    dca_enabled: bool = False
    max_dca_attempts: int | None = None
    client_order_id: str | None = None
    strategy_id: str | None = None
    broker: str = "paper"  # or a ccxt exchange id the user stored a key for
    environment: str | None = None  # an exchange's key environment (None: testnet where it has one)


def level(price: Decimal | None, tick: Decimal) -> Decimal | None:
    """A default level on the tick grid (8 decimals without one), or None."""
    if price is None:
        return None
    return round_price(price, tick) if tick > 0 else price.quantize(Decimal("1e-8")).normalize()


def paper_only(trade: Trade) -> None:
    """Refuse to change a venue's trade with paper arithmetic (it is the venue's to change)."""
    if trade.broker != PAPER:
        raise ConflictError(f"trade {trade.id} is on {trade.broker}: change it there, it syncs back")


def check_levels(
    side: TradeSide, price: Decimal, stop_loss: Decimal | None, take_profit: Decimal | None
) -> None:
    """A long's stop-loss lies below its price and its take-profit above; a short's the other way."""
    below, above = ("stop_loss", "take_profit") if side is TradeSide.LONG else ("take_profit", "stop_loss")
    levels = {"stop_loss": stop_loss, "take_profit": take_profit}
    low, high = levels[below], levels[above]
    if low is not None and low >= price:
        raise InvalidRequestError(f"{below} {low} must be below the price {price} for a {side.value} trade")
    if high is not None and high <= price:
        raise InvalidRequestError(f"{above} {high} must be above the price {price} for a {side.value} trade")
