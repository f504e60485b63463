"""A replay booked as columns (``book_columnar``), its records made when read, leaves the very ledger of
each leg submitted through ``place_legs``: every order, trade, balance, peak and change, decimals to
the digit, the same ids; the legs it cannot prove (refusals, rounding, another position, a balance
too close to call in floats) booked by the one pass, with the same result."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.trading.book import PaperBook
from pipelines.trading.broker import OrderRequest, Side
from pipelines.trading.execution import book_bar
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import exact
from pipelines.trading.replay_book import _exact, _stamps
from pipelines.trading.replay_ledger import ReplayLedger, book_columnar
from pipelines.trading.runner import Bar
from tests.trading.test_replay_book import (
    Book,
    _book,
    _kill_switch_until,
    _none,
    _replayed,
    per_leg,
    snapshot,
)
from tests.trading.test_runner import CASES, STOPS, random_bars

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SMA = ("sma_cross", {"fast": 5, "slow": 20})


def assert_same_ledgers(
    frame: pd.DataFrame, case: Any, make: Book, refuse: Callable[[PaperBook], Any] = _none
) -> tuple[ReplayLedger, PaperBook, int]:
    """The per-leg ledger and the columnar one made into records: the same, record for record."""
    a, b = make(), make()
    runner_a, statuses = per_leg(frame, case, a, refuse(a))
    runner_b, result = _replayed(frame, *case)
    ledger = book_columnar(PaperBroker(b), runner_b, result.legs, refuse=refuse(b))
    if ledger.rest is None:  # all booked as columns: nothing in the book until the records are made
        assert b.orders == {} and b.trades == {} and b.accounts == {}
    booked = ledger.records()
    assert snapshot(b) == snapshot(a)
    assert booked.filled == statuses
    assert json.dumps(runner_b.state(), sort_keys=True) == json.dumps(runner_a.state(), sort_keys=True)
    assert runner_b.drift == runner_a.drift
    assert booked.cash[-1] == (a.accounts[("u1", "USDT")].balance if a.accounts else a.initial_balance)
    assert ledger.records() is booked or ledger.rest is not None  # made once
    assert snapshot(b) == snapshot(a)
    return ledger, b, len(result.legs)


@pytest.mark.parametrize("stops", STOPS)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_columns_made_into_records_are_each_leg_through_the_broker(
    name: str, params: dict[str, Any], stops: Any
) -> None:
    ledger, book, n = assert_same_ledgers(random_bars(600), (name, params, stops), _book())
    assert len(ledger) == n > 0 and ledger.rest is None  # every leg booked as columns
    assert len(book.trades) > 0


@pytest.mark.parametrize(("name", "params"), CASES[:3])
def test_refused_for_the_balance_the_one_pass_books_from_there(name: str, params: dict[str, Any]) -> None:
    ledger, _, n = assert_same_ledgers(random_bars(600), (name, params, STOPS[1]), _book(balance=9_990))
    assert ledger.rest is not None and ledger.rest.per_leg > 0 and len(ledger) < n


def test_a_balance_equal_to_the_first_cost_is_left_to_the_decimals() -> None:
    """An entry costing exactly the cash is booked (not more than the balance), a decision the floats
    cannot prove: the one pass books from that leg, with the per-leg ledger's result."""
    frame, case = random_bars(600), (*SMA, STOPS[0])
    probe = _book()()
    per_leg(frame, case, probe, None)
    first = next(iter(probe.orders.values()))
    cost = first.quantity * (first.average_price or Decimal(0)) + first.commission
    exact = _book(balance=0.0)

    def make() -> PaperBook:
        book = exact()
        book.initial_balance = cost
        return book

    ledger, book, _ = assert_same_ledgers(frame, case, make)
    assert len(ledger) == 0 and ledger.rest is not None
    assert repr(next(iter(book.orders.values()))) == repr(first)  # filled, to the digit


def test_refused_by_a_risk_rule_books_each_leg_in_the_one_pass() -> None:
    frame = random_bars(600)
    ledger, _, _ = assert_same_ledgers(frame, (*SMA, STOPS[1]), _book(), _kill_switch_until(300, frame))
    assert len(ledger) == 0 and ledger.rest is not None


def test_lots_and_ticks_rounding_the_fills_are_left_to_the_one_pass() -> None:
    costs = CostModel(commission=0.001, slippage=0.0005, lot_size=Decimal("0.001"), tick_size=Decimal("0.01"))
    case = ("bollinger_breakout", {"period": 20, "nbdev": 1.5}, STOPS[1])
    ledger, _, n = assert_same_ledgers(random_bars(600), case, _book(costs))
    assert len(ledger) == 0 and ledger.rest is not None and len(ledger.rest.filled) == n


def test_another_position_of_the_user_is_left_to_the_per_leg_path() -> None:
    def make() -> PaperBook:
        book = _book()()
        other = OrderRequest("u1", "ETH/USDT", Side.BUY, Decimal(1), "c1")
        PaperBroker(book).submit_at(other, book_bar(Bar(0, 100.0, 101.0, 99.0, 100.0, 1.0)))
        return book

    ledger, book, n = assert_same_ledgers(random_bars(600), (*SMA, STOPS[1]), make)
    assert len(ledger) == 0 and ledger.rest is not None and ledger.rest.per_leg == n
    assert any(t.symbol == "ETH/USDT" and t.is_open for t in book.trades.values())


def test_bulk_decimals_and_bar_times_are_the_per_value_ones() -> None:
    """The bulk float-to-decimal conversion is ``exact`` of each value, exponent included (integral,
    signed zero, non-finite, subnormal, huge and tiny values, random bit patterns), and the bulk bar
    times are the per-leg ones, with and without sub-second parts."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**63, 20_000, dtype=np.int64).view(np.float64)
    scaled = rng.standard_normal(20_000) * 10.0 ** rng.integers(-12, 20, 20_000)
    special = [0.0, -0.0, 1.0, -3.0, 30000.0, 1e15, 1e16, 1.5e17, 2.0**60, 1e-5, 1.5e-5, 1e-4, 0.1]
    special += [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, math.inf, -math.inf, math.nan]
    values = np.concatenate([bits, scaled, np.round(scaled), np.asarray(special)])
    got = _exact(values)
    assert [repr(d) for d in got] == [repr(exact(v)) for v in values.tolist()]
    seconds = np.arange(-3, 40_000, 7, dtype=np.int64) * 60 * 10**9
    for ts in (seconds, seconds + 123_000):
        assert _stamps(ts) == [EPOCH + dt.timedelta(microseconds=t // 1000) for t in ts.tolist()]
        assert all(s.tzinfo is dt.UTC for s in _stamps(ts))
