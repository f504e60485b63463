"""Live strategies' legs on the paper desk: placed and filled in the bar they were planned in.

All of one user's legs of a bar (across their strategies and symbols) go through one ledger
transaction, with batched reads: the client order ids placed already, the strategies' open trades
and the risk rules' notional of the trades not loaded, one query each; balances and limits once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from pipelines.app.trades import TradeDesk
from pipelines.app.trading_store import OPEN_STATUSES, load_trades, open_notionals
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import OrderRequest, OrderState
from pipelines.trading.execution import place_legs
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import Bar
from pipelines.trading.runner import PlannedOrder

_TRADES = cast(Table, TradeRow.__table__)
_SLEEVES = select(_TRADES).where(
    _TRADES.c.user_id.in_(bindparam("users", expanding=True)),
    _TRADES.c.strategy_id.in_(bindparam("strategies", expanding=True)),
    _TRADES.c.status.in_(OPEN_STATUSES),
)

__all__ = ["Group", "Legs", "execute_batch", "execute_legs", "place_groups", "sleeve_trades"]

Legs = list[tuple[PlannedOrder, OrderState]]
# Called inside the transaction with the legs' states (the runners confirm them, then save their states).
Also = Callable[[Session, list[Legs]], None]
# One strategy's legs planned in one bar of one symbol.
Group = tuple[list[PlannedOrder], Bar]


def execute_legs(
    desk: TradeDesk,
    user_id: str,
    planned: list[PlannedOrder],
    bar: Bar,
    also: Also | None = None,
) -> Legs:
    """A strategy's legs planned in ``bar`` (one symbol): :func:`execute_batch` of that one group."""
    return execute_batch(desk, user_id, [(planned, bar)], also)[0]


def execute_batch(
    desk: TradeDesk,
    user_id: str,
    groups: Sequence[Group],
    also: Also | None = None,
) -> list[Legs]:
    """The user's legs, group by group (each strategy's legs planned in its symbol's bar), placed and
    filled in their bars in one transaction, with ``also`` (given the states: the runners confirm
    them and save their states) run in it too; the states of each group's legs. Legs whose client
    order id is stored already are skipped (a replayed bar places nothing twice); an entry the risk
    rules or the balance refuse comes back rejected. Each strategy's legs fill at its own commission
    and slippage (its runner's sizing)."""
    ids = [p.request.client_order_id for planned, _ in groups for p in planned]
    with desk.ledger(user_id) as (session, book):
        placed: frozenset[tuple[str, str]] = frozenset()
        if ids:
            query = select(OrderRow.client_order_id).where(
                OrderRow.user_id == user_id, OrderRow.client_order_id.in_(ids)
            )
            placed = frozenset((user_id, cid) for cid in session.scalars(query))
            rows = sleeve_trades(session, [user_id], groups)
            load_trades(session, book, rows)
        entries = sorted({p.config.symbol for planned, _ in groups for p in planned if p.leg == "enter"})
        if entries:
            offsets = open_notionals(session, user_id, entries, book.trades)
            for symbol in entries:
                book.notional_offset[(user_id, symbol)] = offsets.get(symbol, Decimal(0))
        done = place_groups(desk, book, user_id, groups, placed)
        if also is not None:
            also(session, done)
        return done


def place_groups(
    desk: TradeDesk,
    book: PaperBook,
    user_id: str,
    groups: Sequence[Group],
    placed: frozenset[tuple[str, str]],
) -> list[Legs]:
    """The user's groups through ``book`` (loaded: balances, sleeves, notional offsets); ``placed``:
    the (user, client order id) pairs stored already."""
    skip = frozenset(cid for user, cid in placed if user == user_id)
    broker = PaperBroker(book)
    done: list[Legs] = []
    lot, tick = desk.costs.lot_size, desk.costs.tick_size
    for planned, bar in groups:
        if not planned:
            done.append([])
            continue
        bt = planned[0].config.backtest
        book.costs = CostModel(float(bt.commission), float(bt.slippage), lot, tick)

        def refuse(request: OrderRequest, bar: Bar = bar) -> None:
            price = Decimal(repr(bar.open))
            book.check(user_id, request.symbol, request.side, request.quantity, price, opens=True)

        done.append(place_legs(broker, planned, bar, skip=skip, refuse=refuse))
    return done


def sleeve_trades(session: Session, users: Sequence[str], groups: Sequence[Group]) -> list[Row[Any]]:
    """The open trades of the groups' (strategy, symbol) sleeves, in one query (table rows: nothing
    enters the session's identity map, the save updates them by id)."""
    pairs = {(p.config.strategy_id, p.config.symbol) for planned, _ in groups for p in planned}
    if not pairs:
        return []
    params = {"users": list(users), "strategies": sorted({sid for sid, _ in pairs})}
    rows = session.connection().execute(_SLEEVES, params)
    return [r for r in rows if (r.strategy_id, r.symbol) in pairs]
