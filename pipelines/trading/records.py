"""The paper ledger's records (orders, trades, DCA attempts, balances) and the rounding rules.

Every money figure is a ``Decimal``; one computed by the cost model is ``exact(float)``, the
decimal of the float's repr, so ``float()`` gives back the very float the model computed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from pipelines.trading.broker import OrderStatus, OrderType, Side

__all__ = [
    "ZERO",
    "Account",
    "Bar",
    "DcaAttempt",
    "Held",
    "Order",
    "OrderPurpose",
    "Trade",
    "TradeSide",
    "TradeStatus",
    "exact",
    "new_id",
    "round_price",
    "round_quantity",
]

ZERO = Decimal(0)


def new_id() -> str:
    return str(uuid.uuid4())


def exact(value: float) -> Decimal:
    """The decimal of ``value``'s shortest repr: ``float(exact(x)) == x`` for every finite float."""
    return Decimal(repr(float(value)))


def round_quantity(quantity: Decimal, lot: Decimal) -> Decimal:
    """``quantity`` down to a whole number of lots (never more than asked); lot 0: unchanged."""
    if lot <= 0:
        return quantity
    return (quantity / lot).to_integral_value(rounding=ROUND_DOWN) * lot


def round_price(price: Decimal, tick: Decimal) -> Decimal:
    """``price`` to the nearest tick (half to even); tick 0: unchanged."""
    if tick <= 0:
        return price
    return (price / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick


class TradeSide(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def entry(self) -> Side:
        return Side.BUY if self is TradeSide.LONG else Side.SELL

    @property
    def exit(self) -> Side:
        return Side.SELL if self is TradeSide.LONG else Side.BUY


class TradeStatus(StrEnum):
    PENDING = "pending"  # the entry order waits for its bar
    ACTIVE = "active"
    CLOSED = "closed"
    CANCELLED = "cancelled"  # the entry never filled


class OrderPurpose(StrEnum):
    ENTRY = "entry"
    DCA = "dca"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar; ``timestamp`` is its open time (UTC)."""

    timestamp: dt.datetime
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True, slots=True)
class Held:
    """Notionals a paper account's open records hold: its open entry and addition orders that buy
    (``buys``) and that sell (``sells``: a short's), costed when read, and its active shorts' margin."""

    buys: Decimal = ZERO
    sells: Decimal = ZERO
    margin: Decimal = ZERO

    def __add__(self, other: Held) -> Held:
        return Held(self.buys + other.buys, self.sells + other.sells, self.margin + other.margin)

    def __sub__(self, other: Held) -> Held:
        return Held(self.buys - other.buys, self.sells - other.sells, self.margin - other.margin)


@dataclass(slots=True)
class Account:
    """A user's cash in one quote currency, the highest equity seen (the drawdown rule's peak): the
    cash plus the active positions in that currency marked to their last price, and what all of the
    user's open records in that currency hold (kept by the ledger's writes)."""

    user_id: str
    asset: str
    balance: Decimal
    peak: Decimal
    held: Held = Held()

    @property
    def key(self) -> tuple[str, str]:
        return self.user_id, self.asset


@dataclass(slots=True)
class Order:
    user_id: str
    client_order_id: str
    broker: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    created_at: dt.datetime
    purpose: OrderPurpose = OrderPurpose.ENTRY
    trade_id: str | None = None
    id: str = field(default_factory=new_id)
    status: OrderStatus = OrderStatus.OPEN
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None
    commission: Decimal = ZERO
    reason: str | None = None
    updated_at: dt.datetime | None = None
    # The notional it holds while open (an entry or addition), fixed when first stored; None: not
    # stored yet, a market order's follows its trade's price.
    reserve: Decimal | None = None


@dataclass(slots=True)
class Trade:
    user_id: str
    symbol: str
    side: TradeSide
    broker: str
    quantity: Decimal  # asked for while pending; held once active
    created_at: dt.datetime
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    dca_enabled: bool = False
    max_dca_attempts: int = 0
    strategy_id: str | None = None
    id: str = field(default_factory=new_id)
    status: TradeStatus = TradeStatus.PENDING
    entry_price: Decimal | None = None  # the average entry fill
    exit_price: Decimal | None = None
    last_price: Decimal | None = None  # the latest close seen (marks pnl while active)
    realized_pnl: Decimal = ZERO
    commission: Decimal = ZERO
    close_reason: str | None = None
    updated_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    opened_at: dt.datetime | None = None  # the entry bar's open time
    settled_to: dt.datetime | None = None  # the last bar applied to it (never applied twice)

    @property
    def sign(self) -> int:
        return 1 if self.side is TradeSide.LONG else -1

    @property
    def is_open(self) -> bool:
        return self.status in (TradeStatus.PENDING, TradeStatus.ACTIVE)

    def pnl(self) -> Decimal:
        """Realized once closed; otherwise marked to the latest price, net of commission so far."""
        if self.status is not TradeStatus.ACTIVE or self.entry_price is None or self.last_price is None:
            return self.realized_pnl
        marked = self.sign * (self.last_price - self.entry_price) * self.quantity
        return self.realized_pnl + marked - self.commission  # realized: parts of the trade sold already

    def pnl_percent(self) -> Decimal | None:
        """pnl over the entry notional, in percent."""
        if self.entry_price is None or self.quantity == 0:
            return None
        return self.pnl() / (self.entry_price * self.quantity) * 100


@dataclass(slots=True)
class DcaAttempt:
    trade_id: str
    attempt: int
    price: Decimal | None
    volume: Decimal
    success: bool
    timestamp: dt.datetime
    reason: str | None = None  # why it failed
    id: str = field(default_factory=new_id)
