"""Storing what a venue answered (the sync job's write): each venue trade once per user, an open deal
updated when it finishes, a fill of an order placed through the trade routes left out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from pipelines.app.exchange_sync import Pulled, deal_values, store_pulled
from pipelines.app.venue_rounds import group_fills, round_trips
from pipelines.db import Database
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.trading.exchanges import ExchangeTrade
from tests.trading.replay import recorded

T0 = dt.datetime(2025, 12, 6, tzinfo=dt.UTC)


def fill(trade_id: int, order_id: int, side: str, quantity: str, price: str, hours: int = 0) -> ExchangeTrade:
    when = T0 + dt.timedelta(hours=hours)
    return ExchangeTrade(str(trade_id), str(order_id), "BTC/USDT", side, Decimal(quantity), Decimal(price),
                         Decimal("0.1"), "USDT", when)  # fmt: skip


def count(database: Database, user: str) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count()).where(TradeRow.user_id == user)) or 0)


def test_fills_of_an_order_group_and_sells_pair_with_earlier_buys_fifo() -> None:
    fills = [
        fill(1, 500, "buy", "0.01", "100"), fill(2, 500, "buy", "0.03", "104", 1),  # one order, two fills
        fill(3, 501, "buy", "0.02", "110", 2), fill(4, 502, "sell", "0.05", "120", 3),
        fill(5, 503, "sell", "0.02", "90", 4),  # more than is held: the rest sold older holdings
    ]  # fmt: skip
    orders = group_fills("BTC/USDT", fills)
    assert next((o.order_id, o.quantity, o.price, o.commission, o.fills) for o in orders) == (
        "500", Decimal("0.04"), Decimal(103), Decimal("0.2"), 2
    )  # fmt: skip
    rows = round_trips("binance", orders)
    assert set(rows) == {
        "rt:BTC/USDT:500:502",
        "rt:BTC/USDT:501:502",
        "rt:BTC/USDT:501:503",
        "sell:BTC/USDT:503",
    }
    first = rows["rt:BTC/USDT:500:502"]
    assert (first["quantity"], first["entry_price"], first["exit_price"], first["status"]) == (
        Decimal("0.04"), Decimal(103), Decimal(120), "closed"
    )  # fmt: skip
    commission = Decimal("0.2") + Decimal("0.1") * 4 / 5
    assert first["commission"] == commission and first["realized_pnl"] == 17 * Decimal("0.04") - commission
    assert rows["rt:BTC/USDT:501:503"]["quantity"] == Decimal("0.01")
    assert rows["sell:BTC/USDT:503"]["quantity"] == Decimal("0.01")
    held = round_trips("binance", orders[:3])  # before the last sell: what the second buy still holds
    assert held["open:BTC/USDT:501"]["status"] == "active" and len(held) == 3
    assert held["open:BTC/USDT:501"]["quantity"] == Decimal("0.01")


def test_each_venue_trade_is_stored_once_per_user(database: Database, users: dict[str, str]) -> None:
    ann, bob = users["ann"], users["bob"]
    pulled = Pulled(symbols=["BTC/USDT"])
    pulled.orders = group_fills(
        "BTC/USDT", [fill(1, 500, "buy", "0.01", "97000"), fill(2, 501, "buy", "0.01", "98000")]
    )
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
    assert count(database, ann) == 2  # the placed trade and order 500, once
    with database.transaction() as s:
        assert store_pulled(s, bob, "binance", pulled) == (2, 0)  # bob placed nothing here
    pulled.orders += group_fills("BTC/USDT", [fill(3, 502, "sell", "0.02", "99000", 1)])
    with database.transaction() as s:  # sold since: bob's held parts become round trips
        assert store_pulled(s, bob, "binance", pulled) == (2, 0)
    with database.session() as s:
        keys = s.scalars(select(TradeRow.external_id).where(TradeRow.user_id == bob)).all()
    assert sorted(keys) == ["rt:BTC/USDT:500:502", "rt:BTC/USDT:501:502"]


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
