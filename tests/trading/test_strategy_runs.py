"""Activated strategies trade on the paper ledger: a fed bar places the orders and records the trades
for the strategy's owner, deactivation stops it, a restart resumes with the missed bars and no
duplicate, users are kept apart, and the database path equals the backtest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from pipelines.app.accounts import register_user
from pipelines.app.strategy_runs import StrategyRuns
from pipelines.app.trade_queries import active_trades
from pipelines.app.trades import TradeDesk
from pipelines.backtest import _kernel as k
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.runner import run_strategy
from pipelines.data.ingest import open_store
from pipelines.data.schema import with_labels
from pipelines.db import Database, open_database
from pipelines.db.strategy_models import LiveStrategy, StrategyRunState
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.errors import ConflictError, InvalidRequestError
from pipelines.settings import Settings
from pipelines.trading.runner import RunnerConfig, StrategyRunner
from pipelines.trading.strategy_store import StrategyStore
from tests.trading.test_runner import bars_of, random_bars

SYMBOL = "BTC/USDT"
SMA = {"fast": 3, "slow": 8}


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(
            home=tmp_path / "home", paper_commission=0.001, paper_initial_balance=100_000
        )
        self.database: Database = open_database(self.settings)
        with self.database.transaction() as s:
            self.users = {n: register_user(s, n, "correct-horse-battery").id for n in ("ann", "bob")}
        self.frame = random_bars(400, seed=21)
        self.written = 0
        self.services: list[StrategyRuns] = []

    def service(self, save_every: float = 1.0) -> StrategyRuns:
        runs = StrategyRuns(self.settings, self.database, TradeDesk(self.settings, self.database))
        runs.save_every = save_every
        runs.lead()
        self.services.append(runs)
        return runs

    def store_bars(self, upto: int) -> pd.DataFrame:
        """Write bars [written, upto) to the store; those bars."""
        new = self.frame.iloc[self.written : upto].reset_index(drop=True)
        open_store(self.settings).write(with_labels(new, symbol=SYMBOL, timeframe="1m", source="synthetic"))
        self.written = upto
        return new

    def feed(self, runs: StrategyRuns, upto: int) -> None:
        for i in range(self.written, upto):
            runs.on_new_bars(SYMBOL, "1m", self.store_bars(i + 1))

    def activate(self, runs: StrategyRuns, user: str, type_: str, params: dict[str, Any]) -> str:
        store = StrategyStore(runs)
        with self.database.transaction() as s:
            params = {"symbols": [SYMBOL], **params}
            record = store.create(s, self.users[user], f"{type_} {user}", type_, params)
            store.activate(s, record)
            return record.id

    def deactivate(self, runs: StrategyRuns, strategy_id: str) -> None:
        store = StrategyStore(runs)
        with self.database.transaction() as s:
            store.deactivate(s, store.get(s, strategy_id, user_id="", is_admin=True))

    def orders(self, strategy_id: str | None = None) -> list[str]:
        with self.database.session() as s:
            query = select(OrderRow.client_order_id).order_by(OrderRow.created_at, OrderRow.client_order_id)
            if strategy_id is not None:
                query = query.where(OrderRow.client_order_id.like(f"strat-{strategy_id}-%"))
            return list(s.scalars(query))


@pytest.fixture
def env(tmp_path: Path) -> Any:
    e = Env(tmp_path)
    yield e
    for runs in e.services:
        runs.close()
    e.database.close()


def test_activation_then_a_bar_places_the_order_and_records_the_trade(env: Env) -> None:
    env.store_bars(50)
    runs = env.service()
    sid = env.activate(runs, "ann", "buy_and_hold", {"capital": 500})
    assert env.orders() == []  # warmed on the stored bars, nothing traded before
    env.feed(runs, 51)
    bar = env.frame.iloc[50]
    with env.database.session() as s:
        trade = s.scalars(select(TradeRow)).one()
    assert (trade.user_id, trade.strategy_id, trade.status) == (env.users["ann"], sid, "active")
    assert (
        float(trade.entry_price or 0) == bar["open"] * 1.0
    )  # filled at the open of the bar it was planned in
    assert float(trade.quantity) == pytest.approx(500 / (bar["open"] * 1.001))
    listed = active_trades(runs.desk, env.users["ann"], symbol=None, limit=10, offset=0)
    assert [t["id"] for t in listed["trades"]] == [trade.id]
    assert active_trades(runs.desk, env.users["bob"], symbol=None, limit=10, offset=0)["trades"] == []
    with env.database.session() as s:
        saved = s.get(StrategyRunState, (sid, SYMBOL))
        assert saved is not None and saved.last_ts == int(pd.Timestamp(bar["timestamp"]).value)


def test_deactivation_stops_orders(env: Env) -> None:
    env.store_bars(50)
    runs = env.service()
    sid = env.activate(runs, "ann", "buy_and_hold", {"capital": 500})
    env.deactivate(runs, sid)
    assert runs.running(sid) == []
    env.feed(runs, 55)
    assert env.orders() == []


def test_ml_predictive_is_refused_with_a_reason(env: Env) -> None:
    runs = env.service()
    config = RunnerConfig("x", "u", SYMBOL, "ml_predictive", {"model_name": "m"})
    with pytest.raises(InvalidRequestError, match="model context"):
        StrategyRunner(config)
    del runs


def expected_orders(env: Env, sid: str, warm: int, upto: int) -> list[str]:
    """The client order ids a runner warmed on ``warm`` bars then fed bars up to ``upto`` places."""
    bt = BacktestConfig(initial_capital=500.0, commission=0.001, slippage=0.0, timeframe="1m")
    runner = StrategyRunner(RunnerConfig(sid, env.users["ann"], SYMBOL, "sma_cross", SMA, bt))
    runner.warm(env.frame.iloc[max(0, warm - runner.lookback) : warm])
    ids = []
    for bar in bars_of(env.frame.iloc[warm:upto]):
        ids += [p.request.client_order_id for p in runner.on_bar(bar)]
    return ids


@pytest.mark.parametrize("flushed", [True, False])
def test_a_restart_replays_the_missed_bars_without_a_missed_or_repeated_order(
    env: Env, flushed: bool
) -> None:
    env.store_bars(100)
    first = env.service(save_every=3600.0)
    sid = env.activate(first, "ann", "sma_cross", {"capital": 500, **SMA})
    env.feed(first, 200)
    if flushed:  # the states of the bars without orders, as the saver thread writes them
        first.flush()
    else:  # a crash before: the state saved last is the last bar with orders'
        first._dirty.clear()
    placed_before = env.orders(sid)
    assert placed_before
    env.store_bars(300)  # the service was down: 100 bars stored meanwhile
    second = env.service()  # a new process: resumes from the saved state, replays the missed bars
    env.feed(second, 320)
    second.on_new_bars(SYMBOL, "1m", env.frame.iloc[319:320])  # the same bar again: nothing placed
    placed = env.orders(sid)
    assert placed[: len(placed_before)] == placed_before
    assert sorted(placed) == sorted(expected_orders(env, sid, 100, 320))
    assert len(placed) == len(set(placed))
    with env.database.session() as s:
        assert s.scalar(select(func.count()).select_from(TradeRow).where(TradeRow.status == "active")) <= 1


def test_two_users_strategies_are_kept_apart(env: Env) -> None:
    env.store_bars(50)
    runs = env.service()
    ann = env.activate(runs, "ann", "buy_and_hold", {"capital": 500})
    bob = env.activate(runs, "bob", "buy_and_hold", {"capital": 300})
    env.feed(runs, 52)
    with env.database.session() as s:
        rows = {(t.user_id, t.strategy_id): t for t in s.scalars(select(TradeRow))}
        assert set(rows) == {(env.users["ann"], ann), (env.users["bob"], bob)}
        bob_trade = rows[(env.users["bob"], bob)]
        assert float(bob_trade.quantity) < float(rows[(env.users["ann"], ann)].quantity)
    ann_sees = active_trades(runs.desk, env.users["ann"], symbol=None, limit=10, offset=0)["trades"]
    assert [t["strategy_id"] for t in ann_sees] == [ann]
    env.deactivate(runs, ann)  # ann stops; bob's strategy runs on
    assert runs.running(bob) and not runs.running(ann)


@pytest.mark.parametrize(("name", "params"), [("sma_cross", SMA), ("rsi_reversion", {"period": 5})])
def test_the_database_path_equals_the_backtest(env: Env, name: str, params: dict[str, Any]) -> None:
    """A strategy started on an empty store, fed bar by bar through the database: the backtest."""
    runs = env.service()
    costs = {"commission": 0.001, "slippage": 0.0005, "stop_loss": 0.004, "take_profit": 0.006}
    cap = {"capital": 900, "allow_short": False, **costs}
    sid = env.activate(runs, "ann", name, {**cap, **params})
    env.feed(runs, 150)
    frame = env.frame.iloc[:150].reset_index(drop=True)
    bt = BacktestConfig(initial_capital=900.0, timeframe="1m", **costs)
    expected = run_strategy(frame, name, params, bt)
    assert runs.running(sid)[0].drift == []
    with env.database.session() as s:
        trades = s.scalars(select(TradeRow).order_by(TradeRow.created_at)).all()
    rows = expected.trades.matrix
    assert len(trades) == len(rows) > 0
    ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    for trade, row in zip(trades, rows, strict=True):
        assert int(pd.Timestamp(trade.opened_at).value) == ts[int(row[k.T_ENTRY_IDX])]
        assert float(trade.quantity) == row[k.T_SIZE]
        assert float(trade.entry_price or 0) == pytest.approx(row[k.T_ENTRY_PRICE], rel=1e-14)
        if row[k.T_REASON] != k.REASON_END:
            assert int(pd.Timestamp(trade.closed_at).value) == ts[int(row[k.T_EXIT_IDX])]
            assert float(trade.exit_price or 0) == pytest.approx(row[k.T_EXIT_PRICE], rel=1e-14)
            assert float(trade.realized_pnl) == pytest.approx(row[k.T_PNL], abs=1e-9)
    assert runs.running(sid)[0].equity == expected.equity[-1]


def test_deleting_an_active_strategy_stops_it(env: Env) -> None:
    env.store_bars(50)
    runs = env.service()
    sid = env.activate(runs, "ann", "buy_and_hold", {"capital": 500})
    store = StrategyStore(runs)
    with env.database.transaction() as s:
        store.delete(s, store.get(s, sid, user_id=env.users["ann"]))
    assert runs.running(sid) == []
    env.feed(runs, 53)
    assert env.orders() == []
    with env.database.session() as s:
        assert s.get(LiveStrategy, sid) is None


def test_the_feed_follows_the_active_strategies_within_its_bound(env: Env) -> None:
    env.settings = env.settings.model_copy(update={"live_symbols": [SYMBOL], "live_follow_max": 1})
    runs = env.service()
    followed: list[set[tuple[str, str]]] = []
    runs.follow_feed(followed.append)
    assert followed == [set()]  # the configured series only
    hourly = env.activate(runs, "ann", "buy_and_hold", {"timeframe": "1h"})
    on_configured = env.activate(runs, "bob", "buy_and_hold", {})
    assert followed[-1] == {(SYMBOL, "1h")}
    with pytest.raises(ConflictError, match="at most 1: live_follow_max"):
        env.activate(runs, "bob", "buy_and_hold", {"symbols": ["ETH/USDT"]})
    also_hourly = env.activate(runs, "bob", "buy_and_hold", {"timeframe": "1h"})  # already followed
    with env.database.session() as s:
        assert s.scalar(select(func.count()).select_from(LiveStrategy)) == 3  # the refused one rolled back
    env.deactivate(runs, hourly)
    assert followed[-1] == {(SYMBOL, "1h")}  # another strategy still trades it
    env.deactivate(runs, also_hourly)
    assert followed[-1] == set() and runs.running(on_configured)
