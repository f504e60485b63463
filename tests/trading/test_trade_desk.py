"""The paper trading use cases over a real SQLite database and stored bars."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pipelines.app.accounts import register_user
from pipelines.app.portfolio import current_portfolio
from pipelines.app.trade_queries import active_trades, dca_history, execute_dca, trade_detail, trade_history
from pipelines.app.trades import TradeDesk, TradeRequest
from pipelines.app.trading_config import update_config
from pipelines.db import open_database
from pipelines.db.models import PredictionLog
from pipelines.db.strategy_models import LiveStrategy
from pipelines.db.trading_models import DcaAttemptRow, OrderRow, PaperBalanceRow, TradeRow
from pipelines.settings import Settings
from pipelines.trading.broker import OrderRequest, Side
from pipelines.trading.dca import DcaSettings
from pipelines.trading.errors import InsufficientBalanceError, RiskRuleError
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import Held
from pipelines.trading.reserve import held_cost
from pipelines.trading.risk import RiskLimits
from tests.trading.support import minute, write_bars

T0 = dt.datetime(2025, 1, 6, 10, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = request.getfixturevalue("fresh_pg_url") if request.param == "postgres" else None
    settings = Settings(home=tmp_path / "home", paper_commission=0.0, database_url=url)
    database = open_database(settings)
    with database.transaction() as session:
        user = register_user(session, "alice", "correct-horse-battery")
        user_id = user.id
    write_bars(settings, "BTC/USDT", [(minute(T0, -1), 100.0, 100.0, 100.0, 100.0)])
    clock = Clock()
    desk = TradeDesk(settings, database, clock=clock)
    yield desk, settings, user_id, clock
    database.close()


def counts(desk: TradeDesk) -> tuple[int, ...]:
    with desk.database.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0
            for t in (TradeRow, OrderRow, DcaAttemptRow, PaperBalanceRow)
        )


def test_market_trade_fills_on_the_next_stored_bar_and_closes_on_take_profit(desk: Any) -> None:
    desk, settings, user, _clock = desk
    opened = desk.open_trade(user, TradeRequest("BTCUSDT", Side.BUY, Decimal("2"), take_profit=Decimal(105)))
    assert opened["status"] == "pending" and opened["symbol"] == "BTCUSDT"  # as the caller spelled it
    assert opened["stop_loss"] == "95"  # the configured 5% (SAFU on by default)
    write_bars(settings, "BTC/USDT", [(minute(T0, 1), 101.0, 102.0, 100.0, 101.5)])
    desk.bars.forget("BTC/USDT")
    (live,) = active_trades(desk, user, symbol=None, limit=50, offset=0)["trades"]
    assert (live["symbol"], live["status"], live["entry_price"], live["current_price"], live["pnl"]) == (
        "BTC/USDT",
        "active",
        "101",
        "101.5",
        "1",
    )
    write_bars(settings, "BTC/USDT", [(minute(T0, 2), 103.0, 106.0, 102.0, 104.0)])
    desk.bars.forget("BTC/USDT")
    detail = trade_detail(desk, user, opened["id"])
    assert (detail["status"], detail["exit_price"], detail["close_reason"]) == (
        "closed",
        "105",
        "take_profit",
    )
    assert detail["pnl"] == "8"
    history = trade_history(
        desk, user, start=None, end=None, symbol="BTC_USDT", status="closed", limit=10, offset=0
    )
    assert history["count"] == 1
    with desk.database.session() as s:
        assert s.get(PaperBalanceRow, (user, "USDT")).balance == Decimal(10008)


def test_retried_client_order_id_never_doubles_and_refusals_store_nothing(desk: Any) -> None:
    desk, _settings, user, _clock = desk
    first = desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(1), client_order_id="k1"))
    again = desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(3), client_order_id="k1"))
    assert again["id"] == first["id"] and again["amount"] == "1"
    before = counts(desk)
    for bad in (
        TradeRequest("BTC/USDT", Side.BUY, Decimal(1), stop_loss=Decimal(101)),
        TradeRequest("BTC/USDT", Side.BUY, Decimal(1), take_profit=Decimal(99)),
        TradeRequest("BTC/USDT", Side.BUY, Decimal(50)),  # 5000 notional > 1000
        TradeRequest("BTC/USDT", Side.SELL, Decimal(1)),  # no shorts
        TradeRequest("ETH/USDT", Side.BUY, Decimal(1)),  # no bars stored
    ):
        with pytest.raises(Exception) as err:
            desk.open_trade(user, bad)
        assert getattr(err.value, "code", None) in {
            "INVALID_REQUEST",
            "RISK_LIMIT_EXCEEDED",
            "INVALID_SYMBOL",
        }
    assert counts(desk) == before


def test_stored_open_trades_count_against_the_position_limit_before_and_after_a_fill(desk: Any) -> None:
    desk, settings, user, clock = desk
    desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(4)))  # 400 of the 1000 allowed
    clock.now = T0 + dt.timedelta(minutes=3)
    desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(4)))
    for moment in ("as stored", "the first settled into the request, the second as stored"):
        before = counts(desk)
        with pytest.raises(RiskRuleError) as err:
            desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(3)))
        assert err.value.rule == "max_position_size" and counts(desk) == before, moment
        # A bar between the two trades' creations: the next request fills the first one only.
        write_bars(settings, "BTC/USDT", [(minute(T0, 1), 100.0, 100.0, 100.0, 100.0)])
        desk.bars.forget("BTC/USDT")
    assert desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal("1.5")))["status"] == "pending"


def test_manual_dca_adds_at_the_next_open_and_recomputes_the_average(desk: Any) -> None:
    desk, settings, user, _clock = desk
    trade = desk.open_trade(
        user,
        TradeRequest(
            "BTC/USDT", Side.BUY, Decimal(1), stop_loss=Decimal(80), dca_enabled=True, max_dca_attempts=2
        ),
    )
    write_bars(settings, "BTC/USDT", [(minute(T0, 1), 100.0, 100.0, 100.0, 99.0)])
    desk.bars.forget("BTC/USDT")
    placed = execute_dca(desk, user, trade["id"], volume=Decimal(1), reason="manual_dca")
    assert placed["success"] is True and placed["dca_attempt"] == 1
    write_bars(settings, "BTC/USDT", [(minute(T0, 2), 90.0, 91.0, 89.0, 90.0)])
    desk.bars.forget("BTC/USDT")
    detail = trade_detail(desk, user, trade["id"])
    assert (detail["amount"], detail["entry_price"], detail["dca_attempts"]) == ("2", "95", 1)
    assert dca_history(desk, user, trade_id=trade["id"], start=None, end=None, limit=10)["count"] == 1


def test_automatic_dca_follows_the_stored_configuration(desk: Any) -> None:
    """Safety orders when a close falls ``step`` below the average entry, each scaled, capped by the
    smaller of the trade's and the configuration's attempts; the configuration is read per request."""
    desk, settings, user, _clock = desk
    patch = {"dca": {"step": "0.02", "base_volume": "100", "volume_scaling": 2.0, "max_attempts": 2}}
    update_config(desk.database.transaction, user, patch)
    request = TradeRequest(
        "BTC/USDT", Side.BUY, Decimal(1), stop_loss=Decimal(50), dca_enabled=True, max_dca_attempts=3
    )
    trade = desk.open_trade(user, request)
    closes = [(100.0, 100.0), (100.0, 97.0), (97.0, 97.0), (97.0, 95.0), (95.0, 80.0), (80.0, 80.0)]
    write_bars(settings, "BTC/USDT", [(minute(T0, i + 1), o, o, c, c) for i, (o, c) in enumerate(closes)])
    desk.bars.forget("BTC/USDT")
    detail = trade_detail(desk, user, trade["id"])
    attempts = [(a["attempt"], a["price"], a["success"]) for a in detail["dca_history"]]
    assert attempts == [(1, "97", True), (2, "95", True)]  # no third: the configuration allows 2
    first, second = (float(a["volume"]) for a in detail["dca_history"])
    assert (first, second) == (pytest.approx(100 / 97), pytest.approx(200 / 95))  # 100, then 100 x 2
    assert float(detail["amount"]) == pytest.approx(1 + first + second)
    average = (100 + first * 97 + second * 95) / (1 + first + second)
    assert float(detail["entry_price"]) == pytest.approx(average)
    # More attempts allowed, but a position limit the third one breaks: recorded with the rule.
    patch = {"dca": {"max_attempts": 5}, "trading": {"max_position_size": "500"}}
    update_config(desk.database.transaction, user, patch)
    write_bars(
        settings, "BTC/USDT", [(minute(T0, 7), 80.0, 80.0, 78.0, 78.0), (minute(T0, 8), 70, 70, 70, 70)]
    )
    desk.bars.forget("BTC/USDT")
    history = dca_history(desk, user, trade_id=trade["id"], start=None, end=None, limit=10)["dca_attempts"]
    assert [(a["attempt"], a["success"]) for a in history] == [(3, False), (2, True), (1, True)]
    assert history[0]["reason"].startswith("max_position_size") and float(history[0]["volume"]) > 0


def test_ml_confidence_is_the_opening_ml_strategys_models(desk: Any) -> None:
    desk, _settings, user, _clock = desk
    with desk.database.transaction() as s:
        strategy = LiveStrategy(user_id=user, name="ml", type="ml_predictive", params={"model_name": "m1"})
        rule = LiveStrategy(user_id=user, name="sma", type="sma_cross", params={})
        s.add_all([strategy, rule])
        for minutes, confidence in ((-30, 0.7), (-5, 0.85), (5, 0.5)):  # the last one comes after
            s.add(
                PredictionLog(
                    endpoint="/predict",
                    model_name="m1",
                    symbol="BTCUSDT",
                    confidence=confidence,
                    created_at=minute(T0, minutes),
                )
            )
        s.flush()
        ids = (strategy.id, rule.id)
    by_model = desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(1), strategy_id=ids[0]))
    by_rule = desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(1), strategy_id=ids[1]))
    by_hand = desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(1)))
    assert trade_detail(desk, user, by_model["id"])["ml_confidence"] == 0.85
    assert trade_detail(desk, user, by_rule["id"])["ml_confidence"] is None
    assert trade_detail(desk, user, by_hand["id"])["ml_confidence"] is None


def test_stored_open_orders_and_short_margin_hold_cash_from_new_trades(desk: Any) -> None:
    desk, settings, user, clock = desk
    big = Decimal(10**9)
    rules = RiskLimits(allow_short=True, max_position_size=big, max_drawdown=Decimal(1))
    desk.limits = lambda _s, _u: (rules, DcaSettings())
    desk.open_trade(user, TradeRequest("BTC/USDT", Side.SELL, Decimal(30)))  # 3000 of margin once filled
    write_bars(settings, "BTC/USDT", [(minute(T0, 1), 100.0, 100.0, 100.0, 100.0)])
    desk.bars.forget("BTC/USDT")
    clock.now = minute(T0, 2)  # the orders below come after the newest bar: none is loaded again
    desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(100), price=Decimal(50)))  # holds 5000
    before = counts(desk)
    with pytest.raises(InsufficientBalanceError, match=r"free paper balance is 2000\.00"):
        desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(50), price=Decimal(50)))
    assert counts(desk) == before
    state = current_portfolio(desk, user)
    assert (state.cash, float(state.reserved)) == (Decimal(10000), 8000.0)  # the sale booked no cash
    assert state.positions_value == 0  # the short at its entry price: no pnl yet


def _recount(desk: TradeDesk, user: str) -> dict[str, Held]:
    """What the user's open paper records hold per currency, from scratch: every open entry or
    addition order's notional at its price (a market order's at its trade's last, else entry price)
    and every active short's entry notional. Each open order's stored reserve is its notional."""
    out: dict[str, Held] = {}
    with desk.database.session() as s:
        trades = {t.id: t for t in s.scalars(select(TradeRow).where(TradeRow.user_id == user))}
        for o in s.scalars(select(OrderRow).where(OrderRow.user_id == user, OrderRow.status == "open")):
            trade = trades[o.trade_id or ""]
            price = o.price or trade.last_price or trade.entry_price or Decimal(0)
            notional = Decimal(0) if o.purpose == "exit" else o.quantity * price
            assert o.reserve == notional
            hold = Held(buys=notional) if o.side == "buy" else Held(sells=notional)
            out[o.symbol.partition("/")[2]] = out.get(o.symbol.partition("/")[2], Held()) + hold
        for t in trades.values():
            if t.side == "short" and t.status == "active":
                margin = Held(margin=t.quantity * (t.entry_price or 0))
                out[t.symbol.partition("/")[2]] = out.get(t.symbol.partition("/")[2], Held()) + margin
    return {asset: held for asset, held in out.items() if held != Held()}


def _assert_held_exact(desk: TradeDesk, user: str) -> Held:
    """The stored running totals equal the recount, and the portfolio's reserved cash is their cost."""
    reserved = current_portfolio(desk, user).reserved  # settles first
    recount = _recount(desk, user)
    with desk.database.session() as s:
        rows = s.execute(
            select(
                PaperBalanceRow.asset,
                PaperBalanceRow.held_buys,
                PaperBalanceRow.held_sells,
                PaperBalanceRow.margin,
            ).where(PaperBalanceRow.user_id == user)
        ).all()
    stored = {asset: Held(*held) for asset, *held in rows if Held(*held) != Held()}
    assert stored == recount
    assert reserved == sum((held_cost(desk.costs, h) for h in recount.values()), Decimal(0))
    return recount.get("USDT", Held())


def test_stored_holds_stay_exact_through_fills_dca_partial_exits_cancels_and_closes(desk: Any) -> None:
    desk, settings, user, clock = desk
    rules = RiskLimits(allow_short=True, max_position_size=Decimal(10**9), max_drawdown=Decimal(1))
    desk.limits = lambda _s, _u: (rules, DcaSettings())
    limit = desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(10), price=Decimal(50)))
    assert _assert_held_exact(desk, user) == Held(buys=Decimal(500))
    long = desk.open_trade(user, TradeRequest("BTC/USDT", Side.BUY, Decimal(5), dca_enabled=True))
    short = desk.open_trade(user, TradeRequest("BTC/USDT", Side.SELL, Decimal(3)))
    assert _assert_held_exact(desk, user) == Held(buys=Decimal(1000), sells=Decimal(300))  # at 100
    write_bars(settings, "BTC/USDT", [(minute(T0, 1), 100.0, 101.0, 99.0, 100.0)])
    desk.bars.forget("BTC/USDT")
    clock.now = minute(T0, 2)
    assert _assert_held_exact(desk, user) == Held(buys=Decimal(500), margin=Decimal(300))  # both filled
    execute_dca(desk, user, long["id"], volume=Decimal(2), reason="by hand")  # holds 2 * 100 until it fills
    with desk.ledger(user) as (session, book):  # a third of the short bought back at the next bar
        desk.owned(session, book, user, short["id"])
        part = OrderRequest(user, "BTC/USDT", Side.BUY, Decimal(1), "part", trade_id=short["id"])
        PaperBroker(book, clock=clock).submit(part)
    assert _assert_held_exact(desk, user) == Held(buys=Decimal(700), margin=Decimal(300))
    write_bars(settings, "BTC/USDT", [(minute(T0, 3), 100.0, 101.0, 99.0, 100.0)])
    desk.bars.forget("BTC/USDT")
    clock.now = minute(T0, 4)
    assert _assert_held_exact(desk, user) == Held(buys=Decimal(500), margin=Decimal(200))
    desk.close_trade(user, limit["id"], reason="cancelled by the user", force=False)
    assert _assert_held_exact(desk, user) == Held(margin=Decimal(200))
    execute_dca(desk, user, long["id"], volume=Decimal(1), reason="by hand")
    assert _assert_held_exact(desk, user) == Held(buys=Decimal(100), margin=Decimal(200))
    desk.close_trade(user, long["id"], reason="closed by the user", force=False)  # cancels its DCA order
    desk.close_trade(user, short["id"], reason="closed by the user", force=False)
    assert _assert_held_exact(desk, user) == Held()
