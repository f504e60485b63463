"""What the exchange clients give back: credentials that never print, balances, market rules, orders
and trades, all in ``Decimal``; and the errors a venue raises (their messages never hold a secret)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any, NamedTuple

from pipelines.errors import ProviderError
from pipelines.redaction import MASK, redact_query_values

__all__ = [
    "AccountBalance",
    "Credentials",
    "ExchangeAuthError",
    "ExchangeError",
    "ExchangeFundsError",
    "ExchangeOrder",
    "ExchangeOrderNotFound",
    "ExchangeTrade",
    "MarketRules",
    "scrub",
]

_MAX_MESSAGE = 300


class Credentials(NamedTuple):
    """A venue's API key and secret: unpacks as ``(api_key, api_secret)``; its repr shows neither."""

    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return "Credentials(api_key=***, api_secret=***)"

    def __str__(self) -> str:
        return self.__repr__()


def scrub(message: str, credentials: Credentials | None, *, limit: int = _MAX_MESSAGE) -> str:
    """``message`` fit for an answer or a log line: the credentials and the signatures and keys of
    query strings masked, cut short."""
    text = redact_query_values(message)
    if credentials is not None:
        for secret in credentials:
            if secret:
                text = text.replace(secret, MASK)
    return text[:limit]


class ExchangeError(ProviderError):
    """A venue failed to answer or refused a request (the message is scrubbed of credentials)."""

    code = "EXTERNAL_API_ERROR"


class ExchangeAuthError(ExchangeError):
    """The venue refused the credentials (wrong key or secret, missing permission, IP not allowed)."""


class ExchangeFundsError(ExchangeError):
    """The venue refused an order for want of balance."""


class ExchangeOrderNotFound(ExchangeError):
    """The venue knows no such order (by its id or its client order id)."""


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """An account's balances by asset (``free`` available, ``used`` in orders, ``total``)."""

    account_type: str  # "spot", "margin", ...
    free: dict[str, Decimal]
    used: dict[str, Decimal]
    total: dict[str, Decimal]
    trading_enabled: bool | None  # None where the venue does not say


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


@dataclass(frozen=True, slots=True)
class MarketRules:
    """One market's trading rules: lot size (quantity step) and tick (price step), and minimums."""

    symbol: str
    base: str
    quote: str
    lot_size: Decimal
    tick_size: Decimal
    min_quantity: Decimal | None = None
    min_notional: Decimal | None = None
    taker_fee: Decimal | None = None  # the fraction of notional a market order pays

    def quantity(self, quantity: Decimal) -> Decimal:
        """``quantity`` rounded down to the lot size (never more than asked)."""
        return _to_step(quantity, self.lot_size, ROUND_DOWN).normalize()

    def price(self, price: Decimal, side: str) -> Decimal:
        """``price`` on the tick grid, rounded in the trader's favour for a limit: down to buy, up to sell."""
        rounding = ROUND_FLOOR if side == "buy" else ROUND_CEILING
        return _to_step(price, self.tick_size, rounding).normalize()


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    order_type: str
    status: str  # ccxt's: open, closed, canceled, expired, rejected
    quantity: Decimal
    filled: Decimal
    price: Decimal | None
    average: Decimal | None
    timestamp: dt.datetime | None
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    fee: Decimal | None = None
    fee_currency: str | None = None


@dataclass(frozen=True, slots=True)
class ExchangeTrade:
    trade_id: str
    order_id: str | None
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal | None
    fee_currency: str | None
    timestamp: dt.datetime
