"""A live strategy's legs on the paper desk: placed and filled in the bar they were planned in."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.app.trades import TradeDesk
from pipelines.app.trading_store import OPEN_STATUSES, load_trades, open_notional
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.trading.broker import OrderRequest, OrderState
from pipelines.trading.execution import place_legs
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import Bar
from pipelines.trading.runner import PlannedOrder

__all__ = ["Legs", "execute_legs"]

Legs = list[tuple[PlannedOrder, OrderState]]


def execute_legs(
    desk: TradeDesk,
    user_id: str,
    planned: list[PlannedOrder],
    bar: Bar,
    also: Callable[[Session], None] | None = None,
) -> Legs:
    """A strategy's legs planned in ``bar`` (one symbol), placed and filled in that bar in one
    transaction, with ``also`` (the runner's saved state) written in it too. Legs whose client
    order id is stored already are skipped (a replayed bar places nothing twice); an entry the
    risk rules or the balance refuse comes back rejected. The legs fill at the strategy's own
    commission and slippage, the ones its runner sized them with."""
    ids = [p.request.client_order_id for p in planned]
    costs = desk.costs
    if planned:
        bt = planned[0].config.backtest
        costs = CostModel(float(bt.commission), float(bt.slippage), costs.lot_size, costs.tick_size)
    with desk.ledger(user_id, costs) as (session, book):
        placed = set()
        if ids:
            query = select(OrderRow.client_order_id).where(
                OrderRow.user_id == user_id, OrderRow.client_order_id.in_(ids)
            )
            placed = set(session.scalars(query))
            cfg = planned[0].config
            rows = session.scalars(
                select(TradeRow).where(
                    TradeRow.user_id == user_id,
                    TradeRow.symbol == cfg.symbol,
                    TradeRow.strategy_id == cfg.strategy_id,
                    TradeRow.status.in_(OPEN_STATUSES),
                )
            ).all()
            load_trades(session, book, rows)

        def refuse(request: OrderRequest) -> None:
            book.notional_offset[(user_id, request.symbol)] = open_notional(
                session, user_id, request.symbol, book.trades
            )
            book.check(
                user_id,
                request.symbol,
                request.side,
                request.quantity,
                Decimal(repr(bar.open)),
                opens=True,
            )

        done = place_legs(PaperBroker(book), planned, bar, skip=frozenset(placed), refuse=refuse)
        if also is not None:
            also(session)
        return done
