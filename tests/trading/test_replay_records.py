"""The columnar records skip two decimal operations where they are the identity (``ZERO + fee``,
``ZERO + gross``), compute a short's gross as ``(entry - exit) * quantity`` and find the peak as the
first greatest equity: on the values where none of that is the identity (zero fees and zero gross
with their signs, decimals of positive exponent from prices of 1e16 and more, equities tied with the
peak) the records are still those of each leg through the broker, to the digit. And a runner's
trade rows handed over by a replay as arrays are the rows ``on_bar`` appends."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.backtest.config import BacktestConfig
from pipelines.features.inputs import utc_nanos
from pipelines.trading.book import PaperBook
from pipelines.trading.fills import CostModel
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import ZERO, exact
from pipelines.trading.replay import replay
from pipelines.trading.replay_ledger import book_columnar
from pipelines.trading.replay_records import _Columns, _Flows, _peak, _unchanged
from pipelines.trading.runner import Bar, RunnerConfig, StrategyRunner
from tests.trading.test_replay_book import place_each_leg, snapshot
from tests.trading.test_runner import random_bars

SMA = ("sma_cross", {"fast": 5, "slow": 20})
BOLLINGER = ("bollinger_breakout", {"period": 20, "nbdev": 1.5})


def _config(
    case: tuple[str, dict[str, Any]], commission: float, stops: tuple[float, float], capital: float = 1e4
) -> RunnerConfig:
    bt = BacktestConfig(
        initial_capital=capital, commission=commission, slippage=0.0, allow_short=True,
        stop_loss=stops[0], take_profit=stops[1], timeframe="1m", crypto=True,
    )  # fmt: skip
    return RunnerConfig("s1", "u1", "BTC/USDT", case[0], case[1], bt, lookback=2000)


def _book(commission: float, capital: float = 1e4) -> PaperBook:
    ids = map(str, itertools.count()).__next__
    return PaperBook(CostModel(commission, 0.0), initial_balance=Decimal(2 * capital), ids=ids)


def _per_leg(frame: pd.DataFrame, cfg: RunnerConfig, book: PaperBook) -> StrategyRunner:
    runner = StrategyRunner(cfg)
    assert all(place_each_leg(frame, runner, replay(runner, frame), book))
    return runner


def _whole(frame: pd.DataFrame, scale: float) -> pd.DataFrame:
    """``frame``'s prices rounded to whole multiples of ``scale``: opens repeat (a trade closed at
    its entry's price: a zero gross) and, at 1e16 and more, decimals of positive exponent."""
    out = frame.copy()
    for c in ("open", "high", "low", "close"):
        out[c] = np.round(frame[c].to_numpy() / 100.0 * 50.0) * scale
    out["high"] = out[["open", "high", "close"]].max(axis=1)
    out["low"] = out[["open", "low", "close"]].min(axis=1)
    return out


@pytest.mark.parametrize("case", [SMA, BOLLINGER])
@pytest.mark.parametrize(
    ("scale", "capital", "commission"),
    [(1.0, 1e4, 0.0), (1e16, 1e4, 0.001), (1.0, 1e21, 0.001)],
    ids=["zero fees", "prices of 1e16", "quantities of 1e19"],
)
def test_records_where_the_skipped_operations_are_not_the_identity(
    case: tuple[str, dict[str, Any]], scale: float, capital: float, commission: float
) -> None:
    frame = _whole(random_bars(1500, seed=21), scale)
    cfg = _config(case, commission, (0.02, 0.03), capital)
    one, columns = _book(commission, capital), _book(commission, capital)
    runner_one = _per_leg(frame, cfg, one)
    runner = StrategyRunner(cfg)
    ledger = book_columnar(PaperBroker(columns), runner, replay(runner, frame).legs)
    assert ledger.rest is None and len(ledger) > 20  # every leg booked as columns
    ledger.records()
    assert snapshot(columns) == snapshot(one)
    assert runner.drift == runner_one.drift == []
    trades = list(one.trades.values())
    assert any(t.exit_price == t.entry_price for t in trades if t.exit_price is not None)  # a zero gross
    positive = [t for t in trades if _exponent(t.entry_price) > 0 or _exponent(t.quantity) > 0]
    assert (commission == 0.0 and all(t.commission == 0 for t in trades)) or positive  # integral floats


def _exponent(value: Decimal | None) -> int:
    exponent = (value or Decimal(0)).as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def test_a_replays_trade_rows_are_made_when_read_as_on_bar_appends_them() -> None:
    frame = random_bars(1200, seed=9)
    cfg = _config(SMA, 0.001, (0.004, 0.006))
    live = StrategyRunner(cfg)
    for bar in _bars(frame):
        live.on_bar(bar)
    runner = StrategyRunner(cfg)
    replay(runner, frame.iloc[:400])
    replay(runner, frame.iloc[400:700])  # two arrays waiting
    assert runner.__dict__["_trades_pending"] and runner.__dict__["_trade_times_pending"]
    for bar in _bars(frame.iloc[700:]):
        runner.on_bar(bar)  # a closing leg reads the rows, then appends its own
    assert runner.trades == live.trades and runner.trade_times == live.trade_times
    assert len(runner.trades) > 10
    replay(runner, frame.iloc[:0])  # no bars: nothing waiting
    assert runner.__dict__["_trades_pending"] == []
    runner.trades = []  # assigning replaces the rows and drops the arrays not yet read
    assert runner.trades == [] and runner.__dict__["_trades_pending"] == []


def _bars(frame: pd.DataFrame) -> list[Bar]:
    ts = utc_nanos(frame["timestamp"])
    cols = [frame[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    return [Bar(int(t), *map(float, v)) for t, *v in zip(ts, *cols, strict=True)]


def test_zero_plus_is_skipped_only_where_it_is_the_identity() -> None:
    """Wherever ``_unchanged`` holds, ``ZERO + d`` is ``d`` to the digit (exponent and sign) for
    ``exact`` values and their differences and products: random floats of every magnitude from
    1e-12 to 1e22, their whole roundings and signed zeros."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal(4000) * 10.0 ** rng.integers(-12, 23, 4000)
    a = np.concatenate([a, np.round(a), [0.0, -0.0, 1e15, 1e16, 2.0**60]])
    b = rng.permutation(a)
    cases = [
        (a, (a,), [exact(x) for x in a.tolist()]),
        (a - b, (a, b), [exact(x) - exact(y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]),
        (a * b, (a, b), [exact(x) * exact(y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]),
    ]
    for value, operands, decimals in cases:
        fits = _unchanged(value, *operands)
        assert 0 < np.count_nonzero(fits) < fits.size
        for d in np.asarray(decimals, dtype=object)[fits].tolist():
            assert repr(ZERO + d) == repr(d)


def test_the_peak_is_the_first_of_the_greatest_equities_made_as_the_fill_makes_it() -> None:
    """``book_fill`` keeps the first equity greater than the peak: a later equal one (of other digits)
    is not greater; the winner made as its fill makes it (an exit's ``cash + ZERO``, a short entry's
    ``cash + q * (p - p)``, a long entry's ``cash + notional``)."""
    d = Decimal
    price = np.asarray([d("10.00"), d("11.0"), d("12.5"), d("12.5")], dtype=object)
    quantity = np.asarray([d("2"), d("3.00")], dtype=object)
    cols = _Columns([], [], [], [], quantity, [], price, price)

    def peak(start: str, cash: list[str], value: list[str], buy: list[bool], paper: bool = True) -> str:
        c = np.asarray([d(x) for x in cash], dtype=object)
        v = np.asarray([d(x) for x in value], dtype=object)
        flows = _Flows(c, v, c, c, c)
        return repr(_peak(d(start), flows, cols, np.asarray(buy), paper))

    assert peak("20000", ["1", "2", "3", "4"], ["20000.00", "19999", "20000.0", "3"], [True, True]) == (
        "Decimal('20000')"
    )
    assert peak("5", ["7.50", "6", "7.5", "7.500"], ["9", "7.50", "7.5", "7.500"], [True, False]) == (
        "Decimal('9')"  # a long entry's own equity
    )
    assert peak("5", ["7.5", "8.50", "1", "8.5"], ["7.5", "8.50", "1", "8.5"], [True, False]) == (
        "Decimal('8.50')"  # an exit: cash + ZERO
    )
    assert peak("5", ["7.5", "1", "9.5", "2"], ["7.5", "1", "9.5", "2"], [True, False]) == (
        "Decimal('9.500')"  # a short's entry: cash + 3.00 * (12.5 - 12.5)
    )
    assert peak("5", ["7.5", "1", "9.5", "2"], ["7.5", "1", "9.5", "2"], [True, False], paper=False) == (
        "Decimal('9.5')"  # not the ledger's own position: cash + ZERO
    )
