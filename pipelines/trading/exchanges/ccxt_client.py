"""A ccxt exchange opened for one user's account: sandbox URLs for testnet, a bounded timeout, ccxt's
own throttle and no automatic retries (a failing venue is reported, never hammered).

``CcxtClient`` is what the brokers and the health check use: ``fetch_balance``, ``fetch_my_trades``,
``fetch_price``, ``create_order`` (with the caller's client order id, the quantity and price rounded to
the market's lot size and tick), ``fetch_order`` and ``cancel_order`` (by either id) and ``market``
(those rules), everything in ``Decimal``. ccxt's errors become
:class:`ExchangeAuthError` or :class:`ExchangeError` with messages scrubbed of the credentials.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pipelines.errors import InvalidRequestError
from pipelines.trading.exchanges.models import (
    AccountBalance,
    Credentials,
    ExchangeAuthError,
    ExchangeError,
    ExchangeFundsError,
    ExchangeOrder,
    ExchangeOrderNotFound,
    ExchangeTrade,
    MarketRules,
    scrub,
)
from pipelines.trading.exchanges.venues import ccxt_module, has_sandbox

__all__ = ["CcxtClient", "open_ccxt"]

T = TypeVar("T")
MAX_TRADES = 1000  # one page of fetch_my_trades at most
# Spot only: the markets of one call (no futures and margin listings, no currency listing that needs
# more permissions than reading an account).
_SPOT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "defaultType": "spot",
    },
}


class _ScrubbedLog:
    """The logger handed to ccxt: its debug lines (each request's URL, headers and body) with the
    credentials and signatures masked."""

    def __init__(self, credentials: Credentials | None) -> None:
        self._log = logging.getLogger("tradeforge.trading.ccxt")
        self._credentials = credentials

    def debug(self, message: str, *args: Any) -> None:
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("%s", scrub(message % args if args else message, self._credentials, limit=2000))


# Venues whose balances parse without their market listing (Binance's is megabytes, too much to
# download for a balance or a health check; it is loaded when a market's rules are first asked for).
_BALANCE_WITHOUT_MARKETS = frozenset({"binance"})


def _rebase(urls: Any, base: str) -> Any:
    """``urls`` (a URL or a nest of them) with each scheme and host replaced by ``base``'s."""
    if isinstance(urls, str):
        parts = urlsplit(urls)
        return base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(urls, dict):
        return {name: _rebase(value, base) for name, value in urls.items()}
    return urls


def open_ccxt(
    provider_id: str,
    credentials: Credentials | None,
    *,
    environment: str,
    timeout_seconds: float,
    api_url: str | None = None,
) -> CcxtClient:
    """The ccxt exchange ``provider_id`` on ``environment`` (``testnet``: its sandbox), signed with
    ``credentials``; ``api_url`` replaces the venue's hosts (a proxy, a replay server in tests)."""
    if environment == "testnet" and not has_sandbox(provider_id):
        raise InvalidRequestError(f"{provider_id} has no testnet")
    config: dict[str, Any] = {
        "timeout": int(timeout_seconds * 1000),
        "enableRateLimit": True,
        "logger": _ScrubbedLog(credentials),
        "options": {"maxRetriesOnFailure": 0, **_SPOT_OPTIONS.get(provider_id, {})},
    }
    if credentials is not None:
        config["apiKey"], config["secret"] = credentials
    exchange = getattr(ccxt_module(), provider_id)(config)
    if environment == "testnet":
        exchange.set_sandbox_mode(True)
    if api_url:
        exchange.urls["api"] = _rebase(exchange.urls["api"], api_url)
    return CcxtClient(exchange, credentials)


def _decimal(value: Any) -> Decimal | None:
    """A ccxt number (float, int or numeric string) as the decimal it prints as; None when absent."""
    if value is None:
        return None
    return Decimal(str(value))


def _step(value: Any, mode: int, decimal_places: int) -> Decimal:
    """A ccxt precision as a step: ticks stay ticks, decimal places ``n`` become ``10**-n``."""
    number = _decimal(value)
    if number is None:
        return Decimal(0)
    if mode == decimal_places:
        return Decimal(1).scaleb(-int(number))
    return number


def _utc(ms: Any) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC)


class CcxtClient:
    """One account on one ccxt exchange (synchronous: call it off the event loop)."""

    def __init__(self, exchange: Any, credentials: Credentials | None) -> None:
        self._exchange = exchange
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"CcxtClient({self._exchange.id!r})"

    @property
    def venue(self) -> str:
        return str(self._exchange.id)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        ccxt = ccxt_module()
        try:
            yield
        except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
            raise ExchangeAuthError(self._message("refused the credentials", exc)) from None
        except ccxt.InsufficientFunds as exc:
            raise ExchangeFundsError(self._message("refused the order for want of balance", exc)) from None
        except ccxt.OrderNotFound as exc:
            raise ExchangeOrderNotFound(self._message("has no such order", exc)) from None
        except ccxt.BaseError as exc:
            raise ExchangeError(self._message("failed", exc)) from None

    def _message(self, what: str, exc: Exception) -> str:
        detail = scrub(f"{type(exc).__name__}: {exc}", self._credentials)
        return f"{self._exchange.name} {what}: {detail}"

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._errors():
            return fn(*args, **kwargs)

    def market(self, symbol: str) -> MarketRules:
        """The lot size, tick and minimums of ``symbol`` (ccxt form, ``BTC/USDT``)."""
        markets = self._call(self._exchange.load_markets)
        market = markets.get(symbol)
        if market is None:
            raise InvalidRequestError(f"{self._exchange.name} has no market {symbol[:40]!r}")
        mode = self._exchange.precisionMode
        places = ccxt_module().DECIMAL_PLACES
        limits = market.get("limits") or {}
        return MarketRules(
            symbol=symbol,
            base=str(market["base"]),
            quote=str(market["quote"]),
            lot_size=_step(market["precision"].get("amount"), mode, places),
            tick_size=_step(market["precision"].get("price"), mode, places),
            min_quantity=_decimal((limits.get("amount") or {}).get("min")),
            min_notional=_decimal((limits.get("cost") or {}).get("min")),
            taker_fee=_decimal(market.get("taker")),
        )

    def fetch_price(self, symbol: str) -> Decimal:
        """The last traded price of ``symbol`` (ExchangeError when the venue gives none)."""
        ticker = self._call(self._exchange.fetch_ticker, symbol)
        price = _decimal(ticker.get("last") or ticker.get("close"))
        if price is None or price <= 0:
            raise ExchangeError(f"{self._exchange.name} gave no price of {symbol[:40]}")
        return price

    def fetch_balance(self) -> AccountBalance:
        if self._exchange.markets is None and self.venue in _BALANCE_WITHOUT_MARKETS:
            self._exchange.markets = {}  # empty, not None: ccxt skips loading, load_markets still loads
        raw = self._call(self._exchange.fetch_balance)
        info = raw.get("info") if isinstance(raw.get("info"), dict) else {}
        return AccountBalance(
            account_type=str(info.get("accountType") or "spot").lower(),
            free=_amounts(raw.get("free")),
            used=_amounts(raw.get("used")),
            total=_amounts(raw.get("total")),
            trading_enabled=_trading_enabled(info),
        )

    def fetch_my_trades(
        self, symbol: str, *, since: dt.datetime | None = None, limit: int = 500
    ) -> list[ExchangeTrade]:
        """The account's trades of ``symbol`` from ``since`` (oldest first), at most ``limit`` (≤ 1000)."""
        since_ms = None if since is None else int(since.timestamp() * 1000)
        rows = self._call(self._exchange.fetch_my_trades, symbol, since_ms, min(max(limit, 1), MAX_TRADES))
        return [_trade(row) for row in rows]

    def create_order(
        self,
        symbol: str,
        side: str,
        quantity: Decimal,
        *,
        client_order_id: str,
        order_type: str = "market",
        price: Decimal | None = None,
    ) -> ExchangeOrder:
        """Place an order; the venue keeps ``client_order_id``, so a retried submission is recognised."""
        rules = self.market(symbol)
        amount = rules.quantity(quantity)
        if amount <= 0 or (rules.min_quantity is not None and amount < rules.min_quantity):
            raise InvalidRequestError(f"quantity {quantity} is under {symbol}'s minimum after rounding")
        limit = None if price is None else rules.price(price, side)
        row = self._call(
            self._exchange.create_order,
            symbol,
            order_type,
            side,
            float(amount),  # ccxt formats it back to the market's precision
            None if limit is None else float(limit),
            {"clientOrderId": client_order_id},
        )
        return _order(row, client_order_id)

    def fetch_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """An order's state, by the venue's id or by the client order id it was placed with."""
        order_id, params = _which(order_id, client_order_id)
        return _order(self._call(self._exchange.fetch_order, order_id, symbol, params), client_order_id)

    def cancel_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        order_id, params = _which(order_id, client_order_id)
        return _order(self._call(self._exchange.cancel_order, order_id, symbol, params), client_order_id)


def _which(order_id: str | None, client_order_id: str | None) -> tuple[str | None, dict[str, Any]]:
    """ccxt's (id, params) naming one order by either of its ids."""
    if order_id is None and client_order_id is None:
        raise InvalidRequestError("give the order's id or its client order id")
    return order_id, ({} if client_order_id is None else {"clientOrderId": client_order_id})


def _amounts(values: Any) -> dict[str, Decimal]:
    if not isinstance(values, dict):
        return {}
    return {str(asset): Decimal(str(v)) for asset, v in values.items() if v is not None}


def _trading_enabled(info: dict[str, Any]) -> bool | None:
    """From the account's permissions, where the venue gives them (Binance: ``canTrade``)."""
    can_trade = info.get("canTrade")
    if isinstance(can_trade, bool):
        return can_trade
    permissions = info.get("permissions")
    if isinstance(permissions, list) and permissions:
        return "SPOT" in {str(p).upper() for p in permissions}
    return None


def _trade(row: dict[str, Any]) -> ExchangeTrade:
    fee = row.get("fee") or {}
    return ExchangeTrade(
        trade_id=str(row["id"]),
        order_id=None if row.get("order") is None else str(row["order"]),
        symbol=str(row["symbol"]),
        side=str(row["side"]),
        quantity=Decimal(str(row["amount"])),
        price=Decimal(str(row["price"])),
        fee=_decimal(fee.get("cost")),
        fee_currency=fee.get("currency"),
        timestamp=_utc(row["timestamp"]) or dt.datetime.now(dt.UTC),
    )


def _order(row: dict[str, Any], client_order_id: str | None) -> ExchangeOrder:
    fee = row.get("fee") or {}
    return ExchangeOrder(
        order_id=str(row["id"]),
        client_order_id=row.get("clientOrderId") or client_order_id,
        symbol=str(row["symbol"]),
        side=str(row["side"]),
        order_type=str(row.get("type") or ""),
        status=str(row.get("status") or "open"),
        quantity=_decimal(row.get("amount")) or Decimal(0),
        filled=_decimal(row.get("filled")) or Decimal(0),
        price=_decimal(row.get("price")),
        average=_decimal(row.get("average")),
        timestamp=_utc(row.get("timestamp")),
        info=dict(row.get("info") or {}),
        fee=_decimal(fee.get("cost")),
        fee_currency=fee.get("currency"),
    )
