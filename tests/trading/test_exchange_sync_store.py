"""Storing what a venue answered (the sync job's write): each venue trade once per user, an open deal
updated when it finishes, a fill of an order placed through the trade routes left out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from pipelines.app.exchange_sync import Pulled, deal_values, store_pulled
from pipelines.db import Database
from pipelines.db.trading_models import OrderRow, TradeRow
from tests.trading.replay import recorded

T0 = dt.datetime(2025, 12, 6, tzinfo=dt.UTC)


def fill(price: str) -> dict[str, Any]:
    p = Decimal(price)
    return {
        "symbol": "BTC/USDT", "side": "long", "status": "closed", "quantity": Decimal("0.01"),
        "entry_price": p, "exit_price": None, "last_price": p, "realized_pnl": Decimal(0),
        "commission": Decimal(0), "close_reason": "binance fill", "created_at": T0, "opened_at": T0,
        "closed_at": T0,
    }  # fmt: skip


def count(database: Database, user: str) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count()).where(TradeRow.user_id == user)) or 0)


def test_each_venue_trade_is_stored_once_per_user(database: Database, users: dict[str, str]) -> None:
    ann, bob = users["ann"], users["bob"]
    pulled = Pulled(rows={"trade:BTC/USDT:1": fill("97000"), "trade:BTC/USDT:2": fill("98000")})
    pulled.orders = {"trade:BTC/USDT:1": "BTC/USDT:500", "trade:BTC/USDT:2": "BTC/USDT:501"}
    with database.transaction() as s:  # order 501 was placed through the trade routes
        trade = TradeRow(
            user_id=ann, symbol="BTC/USDT", side="long", broker="binance", status="active",
            quantity=Decimal("0.01"), realized_pnl=Decimal(0), commission=Decimal(0),
        )  # fmt: skip
        s.add(trade)
        s.flush()
        s.add(
            OrderRow(
                user_id=ann, client_order_id="c1", broker="binance", symbol="BTC/USDT", side="buy",
                type="market", purpose="entry", quantity=Decimal("0.01"), status="filled",
                filled_quantity=Decimal("0.01"), commission=Decimal(0), trade_id=trade.id,
                venue_order_id="BTC/USDT:501",
            )
        )  # fmt: skip
    for _ in range(2):
        with database.transaction() as s:
            store_pulled(s, ann, "binance", pulled)
    assert count(database, ann) == 2  # the placed trade and fill 1, once
    with database.transaction() as s:
        assert store_pulled(s, bob, "binance", pulled) == (2, 0)  # bob placed nothing here


def test_an_open_deal_is_updated_when_it_finishes(database: Database, users: dict[str, str]) -> None:
    deal = recorded("three_commas_deals.json")[1]
    open_row = deal_values(deal)
    assert open_row is not None and open_row["status"] == "active" and open_row["closed_at"] is None
    with database.transaction() as s:
        assert store_pulled(s, users["ann"], "3commas", Pulled(rows={"deal:9": open_row})) == (1, 0)
    done = deal | {"status": "completed", "sold_average_price": "3700", "final_profit": "23.4"}
    done |= {"closed_at": "2025-12-07T10:00:00Z"}
    closed_row = deal_values(done)
    assert closed_row is not None
    with database.transaction() as s:
        assert store_pulled(s, users["ann"], "3commas", Pulled(rows={"deal:9": closed_row})) == (0, 1)
    with database.session() as s:
        row = s.scalars(select(TradeRow).where(TradeRow.external_id == "deal:9")).one()
        assert (row.status, row.exit_price, row.realized_pnl) == ("closed", Decimal(3700), Decimal("23.4"))
    assert deal_values(deal | {"bought_amount": "0"}) is None and deal_values(deal | {"pair": "BTC"}) is None
