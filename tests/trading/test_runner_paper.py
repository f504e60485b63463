"""Runner plus the real paper broker (in memory, and through the database) equals the backtest:
the same trades (entry and exit bars, fills, sizes, fees, pnl) and the same equity curve."""

from __future__ import annotations

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
from pipelines.trading.execution import book_bar, place_legs
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import TradeStatus
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
