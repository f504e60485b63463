"""The trading events a committed ledger write announces on the user's ``trading`` WebSocket
channel: ``order_filled`` for every paper fill (entries, DCA orders, exits), ``trade_closed`` (with
its pnl and reason) and ``portfolio_changed`` (cash, reserved and free cash, and positions value after
the change, per quote currency).

:func:`collect` builds them inside the transaction from what the book changed (before the store
forgets it); :func:`publish` sends them once the transaction has committed, so a rolled-back write
announces nothing. Trades and orders have the API's shapes (``trade_view``), symbols the canonical
spelling (``BTC/USDT``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pipelines.app.trade_views import dec, order_view, trade_view
from pipelines.db.trading_models import PaperBalanceRow, TradeRow
from pipelines.trading.book import Changes, PaperBook, quote_asset
from pipelines.trading.equity import active_value
from pipelines.trading.events import publish_trading_event
from pipelines.trading.records import ZERO, Held
from pipelines.trading.reserve import held_cost

__all__ = ["Event", "collect", "publish"]

Event = tuple[str, str, dict[str, Any]]  # (user id, kind, payload)
ValueOf = Callable[[str, str], Decimal]  # (user, quote currency) -> the active positions' value

_ACTIVE = select(
    TradeRow.user_id,
    TradeRow.symbol,
    TradeRow.side,
    TradeRow.quantity,
    TradeRow.last_price,
    TradeRow.entry_price,
).where(TradeRow.user_id.in_(bindparam("users", expanding=True)), TradeRow.status == "active")
_CASH = select(
    PaperBalanceRow.user_id,
    PaperBalanceRow.asset,
    PaperBalanceRow.balance,
    PaperBalanceRow.held_buys,
    PaperBalanceRow.held_sells,
    PaperBalanceRow.margin,
).where(PaperBalanceRow.user_id.in_(bindparam("users", expanding=True)))


def _portfolios(session: Session, book: PaperBook, touched: dict[str, set[str]]) -> list[Event]:
    """Per user and quote currency touched: the cash, what open orders and short margin hold of it and
    the rest (as GET /portfolio counts them: the balance rows' running holds, read after the change
    was flushed), the active positions' value marked to their last price (a short's: its pnl, its
    margin being part of the cash) and cash plus value (two queries for all the users)."""
    users = sorted(touched)
    cash: dict[tuple[str, str], Decimal] = {}
    reserved_of: dict[tuple[str, str], Decimal] = {}
    for user, asset, balance, *holds in session.execute(_CASH, {"users": users}):
        if asset in touched[user]:
            cash[(user, asset)] = balance
            reserved_of[(user, asset)] = held_cost(book.costs, Held(*holds))
    held = {(u, a): ZERO for u, assets in touched.items() for a in assets}
    for user, symbol, side, quantity, last, entry in session.execute(_ACTIVE, {"users": users}):
        key = (user, quote_asset(symbol))
        if key in held:
            held[key] += active_value(side, quantity, last, entry)
    return _payloads(touched, cash, reserved_of, held)


def _book_portfolios(book: PaperBook, touched: dict[str, set[str]], value_of: ValueOf) -> list[Event]:
    """:func:`_portfolios` from a book that holds the touched accounts as written (their holds folded
    in) and ``value_of`` each (user, quote currency): no query."""
    cash: dict[tuple[str, str], Decimal] = {}
    reserved_of: dict[tuple[str, str], Decimal] = {}
    held: dict[tuple[str, str], Decimal] = {}
    for user, assets in touched.items():
        for asset in assets:
            account = book.accounts.get((user, asset))
            if account is not None:
                cash[(user, asset)] = account.balance
                reserved_of[(user, asset)] = held_cost(book.costs, account.held)
            held[(user, asset)] = value_of(user, asset)
    return _payloads(touched, cash, reserved_of, held)


def _payloads(
    touched: dict[str, set[str]],
    cash: dict[tuple[str, str], Decimal],
    reserved_of: dict[tuple[str, str], Decimal],
    held: dict[tuple[str, str], Decimal],
) -> list[Event]:
    events: list[Event] = []
    for user in sorted(touched):
        for asset in sorted(touched[user]):
            money = cash.get((user, asset), ZERO)
            value = held[(user, asset)]
            reserved = reserved_of.get((user, asset), ZERO)
            payload = {
                "asset": asset,
                "cash": dec(money),
                "reserved_cash": dec(reserved),
                "free_cash": dec(money - reserved),
                "positions_value": dec(value),
                "equity": dec(money + value),
            }
            events.append((user, "portfolio_changed", payload))
    return events


def collect(
    session: Session, book: PaperBook, changes: Changes, value_of: ValueOf | None = None
) -> list[Event]:
    """The events of ``changes`` (what ``book`` changed; call once the store has flushed the rows,
    before the commit). Trades appear as they stand after the whole change. With ``value_of`` (the
    value of a user's active positions in a quote currency after the change), the portfolios are
    computed from the book's accounts, not read."""
    events: list[Event] = []
    for order in changes.fills:
        trade = book.trades.get(order.trade_id or "")
        payload = {**order_view(order), "trade": None if trade is None else trade_view(trade)}
        events.append((order.user_id, "order_filled", payload))
    for trade_id in changes.closed:
        trade = book.trades[trade_id]
        view = trade_view(trade)
        events.append((trade.user_id, "trade_closed", {**view, "reason": trade.close_reason}))
    touched: dict[str, set[str]] = {}
    for order in changes.fills:
        touched.setdefault(order.user_id, set()).add(quote_asset(order.symbol))
    if touched and value_of is not None:
        events.extend(_book_portfolios(book, touched, value_of))
    elif touched:
        events.extend(_portfolios(session, book, touched))
    return events


def publish(events: Iterable[Event]) -> None:
    """Send ``events`` (after the commit); publishing never raises into the trading code."""
    for user_id, kind, payload in events:
        publish_trading_event(user_id, kind, payload)
