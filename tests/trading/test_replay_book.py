"""A replay booked in one pass (``book_replay``) leaves the very ledger of each leg submitted through
``place_legs`` in its bar: every order, trade, attempt, balance, peak and change, decimals to the
digit, the same ids; the same answers to the runner; refusals (the balance, a risk rule) included.
And the one-pass ledger is the backtest."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.backtest.runner import run_strategy
from pipelines.features.inputs import utc_nanos
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import OrderRequest, OrderStatus, Side
from pipelines.trading.dca import DcaSettings
from pipelines.trading.errors import RiskRuleError
from pipelines.trading.execution import Refusal, book_bar, place_legs
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import TradeSide, TradeStatus
from pipelines.trading.replay import ReplayResult, replay
from pipelines.trading.replay_book import book_replay
from pipelines.trading.risk import RiskLimits
from pipelines.trading.runner import Bar, StrategyRunner
from tests.trading.test_runner import CASES, STOPS, config_for, random_bars
from tests.trading.test_runner_paper import COSTS, SPARE, assert_ledger_is_the_backtest

Book = Callable[[], PaperBook]


def _book(costs: CostModel = COSTS, balance: float = 10_000 + SPARE, **kw: Any) -> Book:
    def make() -> PaperBook:
        ids = map(str, itertools.count()).__next__  # the same ids in both ledgers
        return PaperBook(costs, initial_balance=Decimal(balance), ids=ids, **kw)

    return make


def _replayed(frame: pd.DataFrame, name: str, params: dict[str, Any], stops: Any) -> tuple[Any, ReplayResult]:
    runner = StrategyRunner(config_for(name, params, stops))
    return runner, replay(runner, frame)


def per_leg(frame: pd.DataFrame, case: tuple[str, dict[str, Any], Any], book: PaperBook, refuse: Any) -> Any:
    """Every planned leg through ``place_legs`` in its bar, confirmed with the runner."""
    runner, result = _replayed(frame, *case)
    return runner, place_each_leg(frame, runner, result, book, refuse)


def place_each_leg(
    frame: pd.DataFrame, runner: StrategyRunner, result: ReplayResult, book: PaperBook, refuse: Any = None
) -> list[bool]:
    """The replay's legs placed bar by bar on ``book`` and confirmed with ``runner``: whether each filled."""
    broker, statuses = PaperBroker(book), []
    ts = utc_nanos(frame["timestamp"])
    rows = frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    by_bar: dict[int, list[Any]] = {}
    for p in result.orders:
        by_bar.setdefault(p.bar_ts_ns, []).append(p)
    for t, legs in by_bar.items():
        bar = book_bar(Bar(t, *rows[int(np.searchsorted(ts, t))]))
        for p, state in place_legs(broker, legs, bar, refuse=refuse):
            runner.confirm(p, state)
            statuses.append(state.status is OrderStatus.FILLED)
    return statuses


def one_pass(frame: pd.DataFrame, case: tuple[str, dict[str, Any], Any], book: PaperBook, refuse: Any) -> Any:
    runner, result = _replayed(frame, *case)
    booked = book_replay(PaperBroker(book), runner, result.legs, refuse=refuse)
    return runner, booked


def snapshot(book: PaperBook) -> dict[str, Any]:
    """Everything the ledger holds, each record as its repr (a decimal's repr shows its digits)."""
    ch = book.changes
    return {
        "orders": [repr(o) for o in book.orders.values()],
        "trades": [repr(t) for t in book.trades.values()],
        "accounts": [repr(a) for a in book.accounts.values()],
        "by_client": list(book.by_client.items()),
        "open": (list(book._open_orders), list(book._open_trades)),
        "attempts": {k: [repr(a)[: repr(a).rfind(", id=")] for a in v] for k, v in book.attempts.items()},
        "realized_today": repr(book.realized_today),
        "changes": [
            sorted(map(str, s)) for s in (ch.accounts, ch.orders, ch.trades, ch.created, ch.created_accounts)
        ]
        + [[o.id for o in ch.fills], ch.closed, [a.trade_id for a in ch.attempts]],
    }


def assert_same_ledgers(
    frame: pd.DataFrame, case: Any, make: Book, refuse: Callable[[PaperBook], Any]
) -> Any:
    a, b = make(), make()
    runner_a, statuses = per_leg(frame, case, a, refuse(a))
    runner_b, booked = one_pass(frame, case, b, refuse(b))
    assert snapshot(b) == snapshot(a)
    assert booked.filled == statuses
    assert json.dumps(runner_b.state(), sort_keys=True) == json.dumps(runner_a.state(), sort_keys=True)
    assert runner_b.drift == runner_a.drift
    assert booked.cash[-1] == (a.accounts[("u1", "USDT")].balance if a.accounts else a.initial_balance)
    return booked, b, runner_b


def _none(_book: PaperBook) -> None:
    return None


@pytest.mark.parametrize("stops", STOPS)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_one_pass_is_each_leg_through_the_broker(name: str, params: dict[str, Any], stops: Any) -> None:
    booked, book, _ = assert_same_ledgers(random_bars(600), (name, params, stops), _book(), _none)
    assert booked.per_leg == 0 and all(booked.filled)  # every leg booked in the one pass
    assert len(book.trades) > 0


@pytest.mark.parametrize(("name", "params"), CASES[:3])
def test_refused_for_the_balance_the_same_legs_as_each_leg(name: str, params: dict[str, Any]) -> None:
    """A balance below the sleeve's capital: entries are refused ("insufficient balance"), the legs on
    the trade they would have opened find none, and the entries the balance covers still fill."""
    booked, book, _ = assert_same_ledgers(
        random_bars(600), (name, params, STOPS[1]), _book(balance=9_990), _none
    )
    assert booked.per_leg > 0 and not all(booked.filled) and any(booked.filled)
    reasons = {o.reason for o in book.orders.values() if o.status is OrderStatus.REJECTED}
    assert reasons == {"insufficient balance"}
    assert any(t.status is TradeStatus.CANCELLED for t in book.trades.values())


def _kill_switch_until(n_bars: int, frame: pd.DataFrame) -> Callable[[PaperBook], Refusal]:
    """A kill switch on for the first ``n_bars`` bars: every entry there refused by the risk rules."""
    cutoff = int(utc_nanos(frame["timestamp"])[n_bars])

    def refuse_for(book: PaperBook) -> Refusal:
        def refuse(request: OrderRequest) -> None:
            bar_ts = int(request.client_order_id.split("-")[-2])
            book.limits_for = lambda _u: (
                RiskLimits(kill_switch=bar_ts < cutoff, allow_short=True, max_position_size=Decimal(10**9)),
                DcaSettings(),
            )
            book.check("u1", request.symbol, request.side, request.quantity, Decimal(1), opens=True)

        return refuse

    return refuse_for


def test_refused_by_a_risk_rule_the_same_legs_as_each_leg() -> None:
    frame = random_bars(600)
    case = ("sma_cross", {"fast": 5, "slow": 20}, STOPS[1])
    booked, book, _ = assert_same_ledgers(frame, case, _book(), _kill_switch_until(300, frame))
    assert not all(booked.filled) and any(booked.filled)
    opened = [t.opened_at for t in book.trades.values()]
    assert opened and min(o for o in opened if o is not None) >= frame["timestamp"].iloc[300]


def test_entries_refused_without_reading_the_book_make_no_account() -> None:
    """A refusal that never reads the book (unlike the risk rules' check, which makes the account):
    every entry refused, nothing is placed and no account made, as on the per-leg path."""

    def refuse_for(_book: PaperBook) -> Refusal:
        def refuse(_request: OrderRequest) -> None:
            raise RiskRuleError("max_position_size", "refused")

        return refuse

    case = ("rsi_reversion", {"period": 14, "oversold": 40.0, "overbought": 60.0}, STOPS[0])
    booked, book, _ = assert_same_ledgers(random_bars(600), case, _book(), refuse_for)
    assert booked.filled and not any(booked.filled)
    assert book.accounts == {} and book.orders == {} and book.changes.created_accounts == set()
    assert set(booked.cash) == {Decimal(10_000 + SPARE)}


def test_lots_and_ticks_round_as_each_leg_and_the_drift_is_the_same() -> None:
    costs = CostModel(commission=0.001, slippage=0.0005, lot_size=Decimal("0.001"), tick_size=Decimal("0.01"))
    case = ("bollinger_breakout", {"period": 20, "nbdev": 1.5}, STOPS[1])
    booked, book, runner = assert_same_ledgers(random_bars(600), case, _book(costs), _none)
    assert booked.per_leg == 0 and runner.drift  # rounded fills booked in the one pass, told as drift
    assert all(float(o.quantity * 1000) == int(o.quantity * 1000) for o in book.orders.values())
    assert any(o.price is not None for o in book.orders.values())


def test_a_book_holding_another_position_of_the_user_books_each_leg_as_the_broker_would() -> None:
    """Another open trade of the user in the same currency: the account's equity is not the sleeve's
    alone, so every leg goes through the per-leg path, with the same ledger."""

    def make() -> PaperBook:
        book = _book()()
        other = OrderRequest("u1", "ETH/USDT", Side.BUY, Decimal(1), "c1")
        PaperBroker(book).submit_at(other, book_bar(Bar(0, 100.0, 101.0, 99.0, 100.0, 1.0)))
        return book

    booked, book, _ = assert_same_ledgers(
        random_bars(600), ("sma_cross", {"fast": 5, "slow": 20}, STOPS[1]), make, _none
    )
    assert booked.per_leg == len(booked.filled) > 0
    assert any(t.symbol == "ETH/USDT" and t.is_open for t in book.trades.values())


@pytest.mark.parametrize("stops", STOPS)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_replay_booked_in_one_pass_is_the_backtest(name: str, params: dict[str, Any], stops: Any) -> None:
    """Replay plus the one-pass booking: the backtest's trades, and its equity curve from the ledger's
    cash after each bar (an open short's margin counted back) and the runner's units."""
    frame = random_bars(600)
    cfg = config_for(name, params, stops)
    expected = run_strategy(frame, name, params, cfg.backtest)
    runner, result = _replayed(frame, name, params, stops)
    book = _book()()
    booked = book_replay(PaperBroker(book), runner, result.legs)
    assert runner.drift == [] and all(booked.filled)
    assert_ledger_is_the_backtest(book, frame, expected)
    ts = utc_nanos(frame["timestamp"])
    at = np.searchsorted(ts, result.legs.ts)
    cash = np.asarray([float(c + m) - SPARE for c, m in zip(booked.cash, booked.margin, strict=True)])
    pos = np.searchsorted(at, np.arange(len(frame)), side="right") - 1
    units = np.cumsum(result.legs.units)
    close = frame["close"].to_numpy(np.float64)
    equity = np.where(pos >= 0, cash[pos] + units[pos] * close, 10_000.0)
    assert np.allclose(equity, expected.equity, rtol=0, atol=1e-8)
    shorts = [t for t in book.trades.values() if t.side is TradeSide.SHORT]
    assert shorts or name == "buy_and_hold"
