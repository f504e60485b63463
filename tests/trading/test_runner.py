"""The strategy runner equals the backtest: same trades and equity, bar by bar and in batch replay,
through a broker that fills with the backtester's cost functions; a restart places nothing twice."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.backtest import _kernel as k
from pipelines.backtest import costs
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult
from pipelines.backtest.runner import run_strategy
from pipelines.errors import InvalidRequestError
from pipelines.features.inputs import utc_nanos
from pipelines.trading.broker import Fill, OrderRequest, OrderState, OrderStatus, OrderType, Side
from pipelines.trading.replay import replay
from pipelines.trading.runner import Bar, PlannedOrder, RunnerConfig, StrategyRunner


class SimBroker:
    """A tiny in-memory broker (test double for the paper broker): a market order fills at the open
    of the current bar, a stop/limit exit at its price, both through ``costs`` with slippage;
    prices are ``Decimal(repr(float))``; ``submit`` is idempotent on (user, client_order_id)."""

    name = "sim"

    def __init__(self, slippage: float, rate: float) -> None:
        self.slippage, self.rate = slippage, rate
        self.bar: Bar | None = None
        self.orders: dict[tuple[str, str], OrderState] = {}
        self.submitted = 0

    def submit(self, order: OrderRequest) -> OrderState:
        key = (order.user_id, order.client_order_id)
        if key in self.orders:
            return self.orders[key]
        assert self.bar is not None
        self.submitted += 1
        base = self.bar.open if order.order_type is OrderType.MARKET else float(order.price or 0)
        side = costs.BUY if order.side is Side.BUY else costs.SELL
        price = costs.fill_price(side, base, self.slippage)
        qty = float(order.quantity)
        fee = costs.commission(qty * price, self.rate)
        oid = f"o{len(self.orders)}"
        fill = Fill(
            oid, order.client_order_id, order.symbol, order.side, order.quantity,
            Decimal(repr(price)), Decimal(repr(fee)), pd.Timestamp(self.bar.ts_ns, tz="UTC").to_pydatetime(),
        )  # fmt: skip
        state = OrderState(oid, order.client_order_id, OrderStatus.FILLED, fill)
        self.orders[key] = state
        return state

    def cancel(self, user_id: str, order_id: str) -> OrderState:
        raise NotImplementedError

    def order(self, user_id: str, order_id: str) -> OrderState:
        raise NotImplementedError

    def balances(self, user_id: str) -> dict[str, Decimal]:
        return {}


def random_bars(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0.0, 0.003, n))
    spread = np.abs(rng.normal(0.0, 0.006, n)) * close
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(1e3, 1e4, n),
        }
    )


def bars_of(frame: pd.DataFrame) -> list[Bar]:
    ts = utc_nanos(frame["timestamp"])
    cols = [frame[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    return [Bar(int(t), *map(float, v)) for t, *v in zip(ts, *cols, strict=True)]


def drive(
    runner: StrategyRunner, broker: SimBroker, bars: list[Bar]
) -> tuple[list[float], list[PlannedOrder]]:
    """The live loop: the broker sees the bar, the runner plans, the broker fills."""
    equity, placed = [], []
    for bar in bars:
        broker.bar = bar
        for planned in runner.on_bar(bar):
            runner.confirm(planned, broker.submit(planned.request))
            placed.append(planned)
        equity.append(runner.equity)
    return equity, placed


CASES = [
    ("sma_cross", {"fast": 5, "slow": 20}),
    ("rsi_reversion", {"period": 14, "oversold": 40.0, "overbought": 60.0}),
    ("bollinger_breakout", {"period": 20, "nbdev": 1.5}),
    ("buy_and_hold", {}),
]
STOPS = [(None, None), (0.004, 0.006)]


def config_for(name: str, params: dict[str, Any], stops: tuple[float | None, float | None]) -> RunnerConfig:
    bt = BacktestConfig(
        initial_capital=10_000.0, commission=0.001, slippage=0.0005, allow_short=True,
        stop_loss=stops[0], take_profit=stops[1], timeframe="1m", crypto=True,
    )  # fmt: skip
    return RunnerConfig("s1", "u1", "BTC/USDT", name, params, bt, lookback=2000)


def assert_same_trades(runner: StrategyRunner, frame: pd.DataFrame, expected: BacktestResult) -> None:
    rows, times = runner.closed_out(float(frame["close"].iloc[-1]))
    assert len(expected.trades) > 0
    ts = utc_nanos(frame["timestamp"])
    # Same rows to the bit (entry/exit bar, side, size, prices, pnl, fees, reason).
    assert np.array_equal(rows, expected.trades.matrix)
    entry = ts[expected.trades.matrix[:, k.T_ENTRY_IDX].astype(int)]
    exit_ = ts[expected.trades.matrix[:, k.T_EXIT_IDX].astype(int)]
    assert [t[0] for t in times] == entry.tolist()
    assert [t[1] for t in times] == exit_.tolist()


@pytest.mark.parametrize("stops", STOPS)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_bar_by_bar_equals_backtest(name: str, params: dict[str, Any], stops: Any) -> None:
    frame = random_bars(600)
    cfg = config_for(name, params, stops)
    expected = run_strategy(frame, name, params, cfg.backtest)
    runner = StrategyRunner(cfg)
    broker = SimBroker(0.0005, 0.001)
    equity, placed = drive(runner, broker, bars_of(frame))
    assert np.array_equal(np.asarray(equity), expected.equity)
    assert_same_trades(runner, frame, expected)
    assert runner.drift == []  # the broker's fills are the model's, to the bit
    assert broker.submitted == len(placed) > 0
    if stops[0] is not None and name != "buy_and_hold":
        assert {"stop", "take_profit"} & {p.leg for p in placed}


@pytest.mark.parametrize("stops", STOPS)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_replay_equals_backtest_and_live(name: str, params: dict[str, Any], stops: Any) -> None:
    frame = random_bars(3000, seed=11)
    cfg = config_for(name, params, stops)
    expected = run_strategy(frame, name, params, cfg.backtest)
    runner = StrategyRunner(cfg)
    result = replay(runner, frame)
    assert np.array_equal(result.equity, expected.equity)
    assert np.array_equal(result.position, expected.position)
    assert_same_trades(runner, frame, expected)
    live = StrategyRunner(cfg)
    _, placed = drive(live, SimBroker(0.0005, 0.001), bars_of(frame.iloc[:1500]))
    first = [p for p in result.orders if p.bar_ts_ns <= live.last_ts]  # type: ignore[operator]
    assert [p.request for p in first] == [p.request for p in placed]


def test_replay_then_live_continues_the_backtest() -> None:
    frame = random_bars(900, seed=5)
    cfg = config_for("sma_cross", {"fast": 5, "slow": 20}, (0.004, 0.006))
    expected = run_strategy(frame, "sma_cross", cfg.params, cfg.backtest)
    runner = StrategyRunner(cfg)
    head = replay(runner, frame.iloc[:500])
    equity, _ = drive(runner, SimBroker(0.0005, 0.001), bars_of(frame.iloc[500:]))
    assert np.array_equal(np.concatenate([head.equity, equity]), expected.equity)
    assert_same_trades(runner, frame, expected)


def test_live_then_replay_is_the_runner_stepped_bar_by_bar() -> None:
    frame = random_bars(1500, seed=13)
    cfg = config_for("sma_cross", {"fast": 5, "slow": 20}, (0.004, 0.006))
    whole = StrategyRunner(cfg)
    _, every = drive(whole, SimBroker(0.0005, 0.001), bars_of(frame))
    runner = StrategyRunner(cfg)
    _, head = drive(runner, SimBroker(0.0005, 0.001), bars_of(frame.iloc[:773]))
    assert runner.position != 0.0  # the replay starts inside a trade
    tail = replay(runner, frame.iloc[773:])
    assert [p.request for p in head + tail.orders] == [p.request for p in every]
    assert runner.state() == whole.state()  # kernel state, trades, their times, window, counters


def test_restore_resumes_without_missed_or_duplicated_orders() -> None:
    frame = random_bars(800, seed=7)
    bars = bars_of(frame)
    cfg = config_for("rsi_reversion", {"period": 14, "oversold": 40.0, "overbought": 60.0}, (0.004, 0.006))
    whole = StrategyRunner(cfg)
    _, all_orders = drive(whole, SimBroker(0.0005, 0.001), bars)
    broker = SimBroker(0.0005, 0.001)
    first = StrategyRunner(cfg)
    _, before = drive(first, broker, bars[:400])
    saved = json.dumps(first.state())
    # Crash after bar 400's orders went out but before its state was saved: bar 400 comes again.
    broker.bar = bars[400]
    sent_twice = [broker.submit(p.request) for p in first.on_bar(bars[400])]
    resumed = StrategyRunner.restore(cfg, json.loads(saved))
    assert resumed.on_bar(bars[399]) == []  # an already processed bar is ignored
    _, after = drive(resumed, broker, bars[400:])
    assert [p.request for p in before + after] == [p.request for p in all_orders]
    assert broker.submitted == len(all_orders)  # the replayed bar placed nothing twice
    assert all(broker.submit(s_req) is not None for s_req in [p.request for p in after[: len(sent_twice)]])
    assert resumed.equity == whole.equity
    assert np.array_equal(resumed.closed_out(bars[-1].close)[0], whole.closed_out(bars[-1].close)[0])


def test_window_target_equals_full_history_target() -> None:
    frame = random_bars(1500, seed=9)
    for name, params in CASES[:3]:
        cfg = config_for(name, params, (None, None))
        runner = StrategyRunner(cfg)
        full = runner.strategy_targets(frame)
        for end in range(cfg.lookback or 0, 1500, 97):  # type: ignore[operator]
            window = frame.iloc[end - (cfg.lookback or 0) : end].reset_index(drop=True)
            assert runner.strategy_targets(window)[-1] == full[end - 1], (name, end)


def test_a_short_window_refilled_many_times_still_equals_the_backtest() -> None:
    frame = random_bars(1300, seed=13)
    cfg = config_for("bollinger_breakout", {"period": 20, "nbdev": 1.5}, (0.004, 0.006))
    cfg = RunnerConfig(cfg.strategy_id, cfg.user_id, cfg.symbol, cfg.strategy, cfg.params, cfg.backtest, 300)
    expected = run_strategy(frame, cfg.strategy, cfg.params, cfg.backtest)
    runner = StrategyRunner(cfg)
    equity, _ = drive(runner, SimBroker(0.0005, 0.001), bars_of(frame))  # the buffer compacts 3 times
    assert len(runner.window) == 300
    assert np.array_equal(np.asarray(equity), expected.equity)
    assert_same_trades(runner, frame, expected)


def test_a_bad_bar_is_refused_and_changes_nothing() -> None:
    runner = StrategyRunner(config_for("sma_cross", {"fast": 5, "slow": 20}, (None, None)))
    good = bars_of(random_bars(30))
    for bar in good[:25]:
        runner.on_bar(bar)
    before = json.dumps(runner.state())
    for bad in (Bar(good[25].ts_ns, float("nan"), 1.0, 1.0, 1.0), Bar(good[25].ts_ns, 1.0, 1.0, -1.0, 1.0)):
        with pytest.raises(InvalidRequestError, match="finite prices > 0"):
            runner.on_bar(bad)
    assert json.dumps(runner.state()) == before


def test_orders_placed_at_the_open_are_those_of_the_complete_bar() -> None:
    frame = random_bars(700, seed=17)
    cfg = config_for("rsi_reversion", {"period": 14, "oversold": 40.0, "overbought": 60.0}, (0.004, 0.006))
    _, at_close = drive(StrategyRunner(cfg), SimBroker(0.0005, 0.001), bars_of(frame))
    runner, broker, placed = StrategyRunner(cfg), SimBroker(0.0005, 0.001), []
    for bar in bars_of(frame):
        broker.bar = bar
        opened = runner.on_open(bar.ts_ns, bar.open)
        assert runner.on_open(bar.ts_ns, bar.open) == []  # a repeated open places nothing
        for planned in opened + runner.on_bar(bar):
            runner.confirm(planned, broker.submit(planned.request))
            placed.append(planned)
    assert [p.request for p in placed] == [p.request for p in at_close]
    assert runner.drift == [] and broker.submitted == len(at_close)


def test_a_compact_state_resumes_from_the_bar_history() -> None:
    frame = random_bars(700, seed=19)
    bars = bars_of(frame)
    cfg = config_for("sma_cross", {"fast": 5, "slow": 20}, (0.004, 0.006))
    _, all_orders = drive(StrategyRunner(cfg), SimBroker(0.0005, 0.001), bars)
    first = StrategyRunner(cfg)
    _, before = drive(first, SimBroker(0.0005, 0.001), bars[:350])
    compact = json.loads(json.dumps(first.state(window=False, trades=False)))
    assert "window" not in compact and compact["trades"] == []
    with pytest.raises(InvalidRequestError, match="without its window"):
        StrategyRunner.restore(cfg, compact)
    resumed = StrategyRunner.restore(cfg, compact, history=frame.iloc[:400])
    _, after = drive(resumed, SimBroker(0.0005, 0.001), bars[350:])
    assert [p.request for p in before + after] == [p.request for p in all_orders]
