"""The paper ledger's core on crafted bars: fills, exits, DCA, idempotency, rounding, risk rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipelines.backtest.costs import commission, fill_price, limit_fill, stop_fill
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import Broker, OrderRequest, OrderStatus, OrderType, Side
from pipelines.trading.dca import DcaSettings
from pipelines.trading.errors import InsufficientBalanceError, RiskRuleError, TradingDisabledError
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import (
    Bar,
    Order,
    Trade,
    TradeSide,
    TradeStatus,
    exact,
    round_price,
    round_quantity,
)
from pipelines.trading.risk import RiskLimits

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SYM = "BTC/USDT"


def bar(minute: int, o: float, h: float, low: float, c: float) -> Bar:
    return Bar(T0 + dt.timedelta(minutes=minute), o, h, low, c)


def broker(**costs: object) -> PaperBroker:
    return PaperBroker(PaperBook(CostModel(**costs)), clock=lambda: T0)  # type: ignore[arg-type]


def req(
    side: Side, qty: str, kind: OrderType = OrderType.MARKET, price: str | None = None, cid: str = "c1"
) -> OrderRequest:
    return OrderRequest("u1", SYM, side, Decimal(qty), cid, kind, Decimal(price) if price else None)


def test_market_order_fills_at_next_bar_open_through_the_cost_model() -> None:
    b = broker(commission=0.001, slippage=0.0005)
    state = b.submit(req(Side.BUY, "0.01"))
    assert state.status is OrderStatus.OPEN
    assert b.on_bar(SYM, Bar(T0, 1.0, 2.0, 0.5, 1.0)) == []  # started when placed: not after
    (fill,) = b.on_bar(SYM, bar(1, 100.0, 101.0, 99.0, 100.5))
    expected = fill_price(1, 100.0, 0.0005)
    assert float(fill.price) == expected and fill.price == exact(expected)
    assert float(fill.commission) == commission(0.01 * expected, 0.001)
    cash = Decimal(10000) - Decimal("0.01") * fill.price - fill.commission
    assert b.balances("u1") == {"USDT": cash}


@pytest.mark.parametrize(
    ("side", "kind", "price", "bar_", "expected"),
    [
        (Side.BUY, OrderType.LIMIT, "99", (100.0, 101.0, 98.0, 100.0), 99.0),  # crossed: the limit
        (Side.BUY, OrderType.LIMIT, "99", (97.0, 98.0, 96.0, 97.0), 97.0),  # opens below: the open
        (Side.BUY, OrderType.LIMIT, "99", (100.0, 101.0, 99.5, 100.0), None),  # not reached
        (Side.SELL, OrderType.LIMIT, "101", (100.0, 102.0, 99.0, 100.0), 101.0),
        (Side.BUY, OrderType.STOP, "101", (100.0, 102.0, 99.0, 100.0), 101.0),  # worse: the stop
        (Side.BUY, OrderType.STOP, "101", (103.0, 104.0, 102.0, 103.0), 103.0),  # gap: the open
        (Side.SELL, OrderType.STOP, "99", (100.0, 100.5, 99.5, 100.0), None),
    ],
)
def test_limit_and_stop_orders_fill_when_a_bar_crosses(
    side: Side, kind: OrderType, price: str, bar_: tuple[float, float, float, float], expected: float | None
) -> None:
    b = broker(commission=0.0)
    b.book.accounts.clear()
    b.submit(req(side, "1", kind, price))
    fills = b.on_bar(SYM, bar(1, *bar_))
    assert [float(f.price) for f in fills] == ([] if expected is None else [expected])


def test_cost_model_limit_and_stop_functions() -> None:
    assert limit_fill(1, 99.0, 100.0, 101.0, 98.0) == 99.0
    assert stop_fill(-1, 99.0, 98.0, 99.5, 97.0) == 98.0


def test_client_order_id_is_idempotent() -> None:
    b = broker()
    first = b.submit(req(Side.BUY, "1"))
    again = b.submit(req(Side.BUY, "5"))
    assert again.order_id == first.order_id and len(b.book.orders) == 1
    assert b.book.orders[first.order_id].quantity == Decimal(1)


def test_rounding_to_lot_and_tick() -> None:
    assert round_quantity(Decimal("0.123456"), Decimal("0.001")) == Decimal("0.123")
    assert round_price(Decimal("100.037"), Decimal("0.05")) == Decimal("100.05")
    assert round_quantity(Decimal("0.1"), Decimal(0)) == Decimal("0.1")
    b = broker(lot_size=Decimal("0.01"), tick_size=Decimal("0.5"))
    state = b.submit(req(Side.BUY, "0.129", OrderType.LIMIT, "99.8"))
    order = b.book.orders[state.order_id]
    assert (order.quantity, order.price) == (Decimal("0.12"), Decimal("100.0"))


def _open_long(book: PaperBook, qty: str = "1", **kw: object) -> Trade:
    trade = Trade("u1", SYM, TradeSide.LONG, "paper", Decimal(qty), T0, **kw)  # type: ignore[arg-type]
    order = Order(
        "u1",
        "e-" + trade.id,
        "paper",
        SYM,
        Side.BUY,
        OrderType.MARKET,
        Decimal(qty),
        None,
        T0,
        trade_id=trade.id,
    )
    book.place(order, trade)
    book.on_bar(SYM, bar(1, 100.0, 100.0, 100.0, 100.0))
    assert trade.status is TradeStatus.ACTIVE
    return trade


@pytest.mark.parametrize(
    ("bar_", "reason", "price"),
    [
        ((99.0, 112.0, 89.0, 100.0), "stop_loss", 90.0),  # both touched: the stop first
        ((100.0, 111.0, 95.0, 105.0), "take_profit", 110.0),
        ((85.0, 86.0, 84.0, 85.0), "stop_loss", 85.0),  # gap through the stop: the open
    ],
)
def test_stop_loss_and_take_profit(
    bar_: tuple[float, float, float, float], reason: str, price: float
) -> None:
    book = PaperBook(CostModel(commission=0.0))
    trade = _open_long(book, stop_loss=Decimal(90), take_profit=Decimal(110))
    book.on_bar(SYM, bar(2, *bar_))
    assert (trade.status, trade.close_reason, float(trade.exit_price or 0)) == (
        TradeStatus.CLOSED,
        reason,
        price,
    )
    assert trade.realized_pnl == Decimal(str(price)) - 100
    assert book.accounts[("u1", "USDT")].balance == Decimal(10000) + trade.realized_pnl


def test_dca_sequence_scales_volume_and_records_insufficient_balance() -> None:
    dca = DcaSettings(
        max_attempts=5, base_volume=Decimal(1000), volume_scaling=Decimal(2), step=Decimal("0.1")
    )
    limits = RiskLimits(max_position_size=Decimal(10**9), max_drawdown=Decimal(1))
    book = PaperBook(
        CostModel(commission=0.0), initial_balance=Decimal(4000), limits_for=lambda _u: (limits, dca)
    )
    trade = _open_long(book, "10", dca_enabled=True, max_dca_attempts=3)  # 1000 spent, 3000 left
    book.on_bar(SYM, bar(2, 95.0, 95.0, 89.0, 90.0))  # 10% under 100: attempt 1 placed (1000)
    book.on_bar(SYM, bar(3, 90.0, 90.0, 90.0, 90.0))  # fills at 90
    attempts = book.attempts_of(trade.id)
    assert [(a.attempt, a.success, float(a.price or 0)) for a in attempts] == [(1, True, 90.0)]
    assert trade.quantity == Decimal(10) + exact(1000 / 90)
    assert float(trade.entry_price or 0) == pytest.approx(2000 / (10 + 1000 / 90))
    book.on_bar(SYM, bar(4, 80.0, 80.0, 80.0, 80.0))  # attempt 2 wants 2000: left 2000 -> placed
    book.on_bar(SYM, bar(5, 70.0, 70.0, 70.0, 70.0))  # fills at 70 (1750 used)
    book.on_bar(SYM, bar(6, 60.0, 60.0, 60.0, 60.0))  # attempt 3 wants 4000: refused
    assert [a.success for a in attempts] == [True, True, False]
    assert attempts[2].reason is not None and "balance" in attempts[2].reason
    book.on_bar(SYM, bar(7, 40.0, 40.0, 40.0, 40.0))  # max 3 attempts: nothing more
    assert len(attempts) == 3


def test_risk_rules_refuse_before_anything_is_held() -> None:
    book = PaperBook(CostModel(), limits_for=lambda _u: (RiskLimits(kill_switch=True), DcaSettings()))
    with pytest.raises(TradingDisabledError):
        book.check("u1", SYM, Side.BUY, Decimal(1), Decimal(100), opens=True)
    book = PaperBook(CostModel())
    with pytest.raises(RiskRuleError) as err:
        book.check("u1", SYM, Side.BUY, Decimal(20), Decimal(100), opens=True)
    assert err.value.rule == "max_position_size"
    with pytest.raises(RiskRuleError) as err:
        book.check("u1", SYM, Side.SELL, Decimal(1), Decimal(100), opens=True)
    assert err.value.rule == "allow_short"
    assert not book.orders and not book.trades


def test_paper_broker_is_a_broker_and_cancels() -> None:
    b = broker()
    assert isinstance(b, Broker)
    state = b.submit(req(Side.BUY, "1", OrderType.LIMIT, "50"))
    assert b.cancel("u1", state.order_id).status is OrderStatus.CANCELLED
    assert b.on_bar(SYM, bar(1, 40.0, 41.0, 39.0, 40.0)) == []  # a cancelled order never fills
    assert b.order("u1", state.order_id).reason == "cancelled by the user"


def test_daily_loss_and_drawdown_rules_name_themselves() -> None:
    book = PaperBook(CostModel())
    book.realized_today["u1"] = Decimal(-100)
    with pytest.raises(RiskRuleError) as err:
        book.check("u1", SYM, Side.BUY, Decimal(1), Decimal(10), opens=True)
    assert err.value.rule == "daily_loss_limit"
    book = PaperBook(CostModel())
    account = book.account("u1", "USDT")
    account.balance, account.peak = Decimal(8900), Decimal(10000)
    with pytest.raises(RiskRuleError) as err:
        book.check("u1", SYM, Side.BUY, Decimal(1), Decimal(10), opens=True)
    assert err.value.rule == "max_drawdown"


def test_the_drawdown_rule_reads_the_equity_and_its_peak() -> None:
    """A long worth half the balance lowers the cash, not the equity; the peak follows the equity
    marked at each bar, and a fall of the price more than max_drawdown under it refuses orders."""
    limits = RiskLimits(max_position_size=Decimal(10**9))  # max_drawdown 0.10
    book = PaperBook(CostModel(commission=0.0), limits_for=lambda _u: (limits, DcaSettings()))
    _open_long(book, "50")  # 5000 of 10000 at 100
    account = book.accounts[("u1", "USDT")]
    assert (account.balance, account.peak) == (5000, 10000)
    book.check("u1", SYM, Side.BUY, Decimal(1), Decimal(100), opens=True)  # nothing lost
    book.on_bar(SYM, bar(2, 120.0, 120.0, 120.0, 120.0))
    assert account.peak == 11000  # 5000 + 50 * 120
    book.on_bar(SYM, bar(3, 99.0, 99.0, 99.0, 99.0))  # equity 9950: 9.5% under the peak
    book.check("u1", SYM, Side.BUY, Decimal(1), Decimal(99), opens=True)
    book.on_bar(SYM, bar(4, 97.0, 97.0, 97.0, 97.0))  # equity 9850: 10.45% under the peak
    orders = dict(book.orders)
    with pytest.raises(RiskRuleError, match=r"10\.45% below its peak") as err:
        book.check("u1", SYM, Side.BUY, Decimal(1), Decimal(97), opens=True)
    assert err.value.rule == "max_drawdown" and book.orders == orders
    assert (account.balance, account.peak) == (5000, 11000)


def test_a_short_where_allowed_gains_when_the_price_falls() -> None:
    limits = RiskLimits(allow_short=True)
    book = PaperBook(CostModel(commission=0.0), limits_for=lambda _u: (limits, DcaSettings()))
    book.check("u1", SYM, Side.SELL, Decimal(2), Decimal(100), opens=True)  # allowed now
    trade = Trade("u1", SYM, TradeSide.SHORT, "paper", Decimal(2), T0, stop_loss=Decimal(110))
    order = Order(
        "u1", "s1", "paper", SYM, Side.SELL, OrderType.MARKET, Decimal(2), None, T0, trade_id=trade.id
    )
    book.place(order, trade)
    book.on_bar(SYM, bar(1, 100.0, 100.0, 100.0, 95.0))
    assert trade.pnl() == Decimal(10)
    book.on_bar(SYM, bar(2, 105.0, 111.0, 104.0, 108.0))  # the stop above the entry
    assert (trade.close_reason, trade.realized_pnl) == ("stop_loss", Decimal(-20))
    account = book.accounts[("u1", "USDT")]
    assert (account.balance, account.peak) == (Decimal(10000) - 20, Decimal(10010))  # marked at 95


def _funded_book(**limits: object) -> PaperBook:
    rules = RiskLimits(max_position_size=Decimal(10**9), max_drawdown=Decimal(1), **limits)  # type: ignore[arg-type]
    return PaperBook(CostModel(commission=0.001), limits_for=lambda _u: (rules, DcaSettings()))


def test_open_limit_and_stop_buys_hold_their_cost_until_they_fill_or_are_cancelled() -> None:
    book = _funded_book()
    b = PaperBroker(book, clock=lambda: T0)
    book.check("u1", SYM, Side.BUY, Decimal(60), Decimal(100), opens=True)
    limit = b.submit(req(Side.BUY, "60", OrderType.LIMIT, "100", cid="a"))
    assert book.reserved("u1", "USDT") == Decimal("6006.000")  # 60 * 100 + 0.1% commission
    with pytest.raises(InsufficientBalanceError, match=r"free paper balance is 3994\.00") as err:
        book.check("u1", SYM, Side.BUY, Decimal(40), Decimal(100), opens=True)  # 4004 > 10000 - 6006
    assert "6006.00 held by open orders" in str(err.value)
    assert len(book.orders) == 1 and book.accounts[("u1", "USDT")].balance == 10000  # nothing written
    book.check("u1", SYM, Side.BUY, Decimal(30), Decimal(110), opens=True)
    b.submit(req(Side.BUY, "30", OrderType.STOP, "110", cid="b"))
    assert float(book.reserved("u1", "USDT")) == pytest.approx(6006 + 3303.3)  # 30 * 110 + fee
    b.cancel("u1", limit.order_id)
    assert float(book.reserved("u1", "USDT")) == pytest.approx(3303.3)  # a cancelled one holds nothing


def test_a_short_holds_its_notional_as_margin_and_releases_it_with_the_pnl_at_the_close() -> None:
    book = _funded_book(allow_short=True)
    b = PaperBroker(book, clock=lambda: T0)
    book.check("u1", SYM, Side.SELL, Decimal(50), Decimal(100), opens=True)
    state = b.submit(req(Side.SELL, "50", cid="s"))
    trade = book.trades[book.orders[state.order_id].trade_id or ""]
    trade.last_price = Decimal(100)  # the market entry's reference price: held until it fills
    assert book.reserved("u1", "USDT") == Decimal("5005.000")
    b.on_bar(SYM, bar(1, 100.0, 100.0, 100.0, 100.0))
    account = book.accounts[("u1", "USDT")]
    assert account.balance == Decimal("9995.0")  # only the fee: the sale is margin, not spendable cash
    assert book.reserved("u1", "USDT") == Decimal(5000)
    for side in (Side.BUY, Side.SELL):  # neither a buy nor another short fits the 4995 free
        with pytest.raises(InsufficientBalanceError, match=r"free paper balance is 4995\.00"):
            book.check("u1", SYM, side, Decimal(50), Decimal(100), opens=True)
    book.close(trade, 90.0, "exit", T0 + dt.timedelta(minutes=2))
    assert trade.realized_pnl == Decimal("490.5")  # 50 * 10 less 5 + 4.5 of fees
    assert account.balance == Decimal(10000) + trade.realized_pnl
    assert book.reserved("u1", "USDT") == 0
