"""Runner plus the real paper broker (in memory, and through the database) equals the backtest:
the same trades (entry and exit bars, fills, sizes, fees, pnl) and the same equity curve."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.backtest import _kernel as k
from pipelines.backtest.engine import BacktestResult
from pipelines.backtest.runner import run_strategy
from pipelines.features.inputs import utc_nanos
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import OrderState, OrderStatus
from pipelines.trading.dca import DcaSettings
from pipelines.trading.execution import book_bar, place_legs
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import TradeStatus
from pipelines.trading.risk import RiskLimits
from pipelines.trading.runner import StrategyRunner
from tests.trading.test_runner import CASES, STOPS, bars_of, config_for, random_bars

COSTS = CostModel(commission=0.001, slippage=0.0005)
# The account funds more than the sleeve: the kernel spends a sleeve's cash to the last float, which
# the ledger's exact decimals may see as a hair more than the balance.
SPARE = 10_000.0


def book_equity(book: PaperBook, user: str, close: float) -> float:
    """What the ledger holds marked to ``close``: cash plus the open longs' units, plus the open
    shorts' pnl (a short's sale is held as margin, never booked as cash)."""
    cash = float(book.account(user, "USDT").balance) - SPARE
    for t in book.trades.values():
        if t.status is TradeStatus.ACTIVE:
            entry = float(t.entry_price or 0)
            cash += float(t.quantity) * (close if t.sign > 0 else entry - close)
    return cash


def run_paper(frame: pd.DataFrame, name: str, params: dict[str, Any], stops: Any) -> tuple[Any, ...]:
    cfg = config_for(name, params, stops)
    runner = StrategyRunner(cfg)
    book = PaperBook(COSTS, initial_balance=Decimal(10_000 + SPARE))
    broker = PaperBroker(book)
    equity = []
    for bar in bars_of(frame):
        for planned, state in place_legs(broker, runner.on_bar(bar), book_bar(bar)):
            runner.confirm(planned, state)
        equity.append(book_equity(book, "u1", bar.close))
    return runner, book, np.asarray(equity)


def assert_ledger_is_the_backtest(book: PaperBook, frame: pd.DataFrame, expected: BacktestResult) -> None:
    """The ledger's trades are the backtest's: same bars, fills and sizes to the bit; pnl and fees
    to 1e-9 (the ledger adds exact decimals of the same floats the kernel adds as floats)."""
    ts = utc_nanos(frame["timestamp"])
    rows = expected.trades.matrix
    trades = sorted(book.trades.values(), key=lambda t: t.created_at)
    assert len(trades) == len(rows) > 0
    for trade, row in zip(trades, rows, strict=True):
        assert _ns(trade.opened_at) == ts[int(row[k.T_ENTRY_IDX])]
        assert trade.sign == int(row[k.T_SIDE])
        assert float(trade.quantity) == row[k.T_SIZE]
        assert float(trade.entry_price or 0) == pytest.approx(row[k.T_ENTRY_PRICE], rel=1e-14)
        if row[k.T_REASON] == k.REASON_END:  # the backtest marks the last open trade to the close
            assert trade.status is TradeStatus.ACTIVE
            continue
        assert _ns(trade.closed_at) == ts[int(row[k.T_EXIT_IDX])]
        assert float(trade.exit_price or 0) == pytest.approx(row[k.T_EXIT_PRICE], rel=1e-14)
        assert trade.close_reason == {0: "exit", 1: "stop_loss", 2: "take_profit"}[int(row[k.T_REASON])]
        assert float(trade.realized_pnl) == pytest.approx(row[k.T_PNL], abs=1e-9)
        assert float(trade.commission) == pytest.approx(row[k.T_COMMISSION], abs=1e-12)


def _ns(at: Any) -> int:
    return int(pd.Timestamp(at).value)


@pytest.mark.parametrize("stops", STOPS)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_runner_and_paper_broker_equal_the_backtest(name: str, params: dict[str, Any], stops: Any) -> None:
    frame = random_bars(600)
    cfg = config_for(name, params, stops)
    expected = run_strategy(frame, name, params, cfg.backtest)
    runner, book, equity = run_paper(frame, name, params, stops)
    assert runner.drift == []  # every fill is the model's, to the bit
    assert np.allclose(equity, expected.equity, rtol=0, atol=1e-8)
    assert_ledger_is_the_backtest(book, frame, expected)
    assert all(o.status.value == "filled" for o in book.orders.values())
    legs = {o.reason for o in book.orders.values()}
    if stops[0] is not None and name != "buy_and_hold":
        assert {"stop_loss", "take_profit"} <= legs


def test_a_refused_entry_leaves_the_runner_flat_and_is_retried_only_at_the_next_signal() -> None:
    frame = random_bars(600)
    cfg = config_for("sma_cross", {"fast": 5, "slow": 20}, STOPS[0])
    expected = run_strategy(frame, "sma_cross", {"fast": 5, "slow": 20}, cfg.backtest)
    kill = {"on": True}

    def limits(_user: str) -> tuple[RiskLimits, DcaSettings]:
        big = Decimal(10**9)
        rules = RiskLimits(
            kill_switch=kill["on"], allow_short=True, max_position_size=big, daily_loss_limit=big
        )
        return rules, DcaSettings()

    book = PaperBook(COSTS, initial_balance=Decimal(10_000 + SPARE), limits_for=limits)
    broker, runner, n = PaperBroker(book), StrategyRunner(cfg), 300

    def refuse(request: Any) -> None:
        book.check("u1", request.symbol, request.side, request.quantity, Decimal(1), opens=True)

    for i, bar in enumerate(bars_of(frame)):
        kill["on"] = i < n
        for planned, state in place_legs(broker, runner.on_bar(bar), book_bar(bar), refuse=refuse):
            runner.confirm(planned, state)
        if i < n:
            assert runner.position == 0.0 and runner.cash == 10_000.0 and runner.trades == []
    entries = expected.trades.matrix[:, k.T_ENTRY_IDX]
    # One refusal per entry signal of the backtest before the switch: none retried bar after bar.
    assert runner.refusals == int((entries < n).sum()) > 1
    assert runner.last_refusal is not None and "kill switch" in runner.last_refusal
    assert runner.drift == []
    first = min(book.trades.values(), key=lambda t: t.created_at)
    ts = utc_nanos(frame["timestamp"])
    assert _ns(first.opened_at) == ts[int(entries[entries >= n].min())]  # the first signal after it
    restored = StrategyRunner.restore(cfg, runner.state())
    assert (restored.refusals, restored.last_refusal) == (runner.refusals, runner.last_refusal)


def test_a_refused_leg_confirmed_again_is_undone_once() -> None:
    """A tick's transaction that fails after its runners confirmed their legs is rolled back and the
    same legs are placed again user by user, then confirmed again: a refusal is undone and counted
    once (its undo is spent), and a leg filled the first time and refused the second is undone."""
    cfg = config_for("sma_cross", {"fast": 5, "slow": 20}, STOPS[0])
    runner = StrategyRunner(cfg)
    for bar in bars_of(random_bars(600)):
        planned = runner.on_bar(bar)
        if any(p.leg == "enter" for p in planned):
            break
        for p in planned:
            runner.confirm(p, OrderState("x", p.request.client_order_id, OrderStatus.FILLED, None, None))
    held = runner.position
    assert held != 0.0  # the entry taken in the model

    def refuse_all() -> None:
        for p in planned:
            state = OrderState("", p.request.client_order_id, OrderStatus.REJECTED, None, "kill switch on")
            runner.confirm(p, state)

    for p in planned:  # first placed: filled, then rolled back with the tick
        runner.confirm(p, OrderState("x", p.request.client_order_id, OrderStatus.FILLED, None, None))
    assert runner.position == held and runner.refusals == 0
    refuse_all()  # placed again: refused
    once = json.dumps(runner.state(), sort_keys=True)
    assert runner.position == 0.0 and runner.refusals == 1
    refuse_all()  # and confirmed once more: nothing changes
    assert json.dumps(runner.state(), sort_keys=True) == once and runner.refusals == 1


@pytest.mark.parametrize(("stops", "leg"), [(STOPS[0], "exit"), (STOPS[1], "stop")])
def test_a_refused_exit_keeps_the_position_and_is_retried_at_the_next_open(stops: Any, leg: str) -> None:
    cfg = config_for("sma_cross", {"fast": 5, "slow": 20}, stops)
    runner = StrategyRunner(cfg)
    bars = bars_of(random_bars(600))
    for i in range(len(bars)):
        planned = runner.on_bar(bars[i])
        if [p.leg for p in planned] in ([leg], [leg, "enter"]):
            break
        for p in planned:
            runner.confirm(p, OrderState("x", p.request.client_order_id, OrderStatus.FILLED, None, None))
    for p in planned:  # the exit refused (the kill switch), and the entry placed after it with it
        reason = "the kill switch is on" if p.leg == leg else "the exit before this entry was refused"
        runner.confirm(p, OrderState("", p.request.client_order_id, OrderStatus.REJECTED, None, reason))
    assert runner.refusals == 1 and runner.last_refusal == "the kill switch is on"
    kept = runner.position
    assert kept != 0.0  # the broker still holds it
    again = runner.on_bar(bars[i + 1])
    assert again and again[0].leg == "exit" and again[0].units == -kept  # the whole position, at the open
    assert again[0].price == bars[i + 1].open
