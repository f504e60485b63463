"""``ml_predictive`` trades live with a real registered model (the session's LightGBM champion): the
runner fed bar by bar through the database equals the backtest with the same model, each prediction
is logged with its confidence (a trade it opens shows it as ``ml_confidence``), and a model that is
not registered is refused at activation with nothing running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from pipelines.app.live_signals import LiveModels
from pipelines.app.strategy_runs import StrategyRuns
from pipelines.app.trade_ml import ml_confidence
from pipelines.app.trades import TradeDesk
from pipelines.app.trading_store import trade_of
from pipelines.backtest import _kernel as k
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.runner import run_strategy
from pipelines.backtest.strategies import RegistrySignals
from pipelines.data.ingest import open_store
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.schema import with_labels
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.db.models import PredictionLog
from pipelines.db.strategy_models import LiveStrategy
from pipelines.db.trading_models import TradeRow
from pipelines.errors import InvalidRequestError
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings
from tests.trading.test_strategy_runs import SYMBOL, Env

MODEL = "lgbm_aapl"  # the session's trained LightGBM champion (default feature set)
PARAMS = {"model_name": MODEL, "threshold": 0.3}
START, END = pd.Timestamp("2022-11-01", tz="UTC"), pd.Timestamp("2023-12-01", tz="UTC")


@pytest.fixture
def env(tmp_path: Path, trained_home: Settings) -> Any:
    e = Env(tmp_path)
    e.registry = ModelRegistry(open_tracker(trained_home), tmp_path / "cache")
    bars = SyntheticProvider().fetch(parse_symbol("AAPL"), parse_timeframe("1d"), START, END)
    e.frame = bars[["timestamp", "open", "high", "low", "close", "volume"]].reset_index(drop=True)
    yield e
    for runs in e.services:
        runs.close()
    e.database.close()


def service(env: Any) -> StrategyRuns:
    models = LiveModels(env.settings, env.database, registry=env.registry)
    runs = StrategyRuns(env.settings, env.database, TradeDesk(env.settings, env.database), models=models)
    runs.lead()
    env.services.append(runs)
    return runs


def feed(env: Any, runs: StrategyRuns, upto: int) -> None:
    """The daily bars [written, upto) stored and announced one by one, as the live feed does."""
    store = open_store(env.settings)
    for i in range(env.written, upto):
        bar = env.frame.iloc[i : i + 1].reset_index(drop=True)
        store.write(with_labels(bar, symbol=SYMBOL, timeframe="1d", source="synthetic"))
        runs.on_new_bars(SYMBOL, "1d", bar)
    env.written = upto


def test_the_live_runner_trades_the_backtest_of_the_same_model(env: Any) -> None:
    runs = service(env)
    costs = {"commission": 0.001, "slippage": 0.0005}
    run = {"capital": 500, "allow_short": False, "timeframe": "1d", **costs}
    sid = env.activate(runs, "ann", "ml_predictive", {**run, **PARAMS})
    feed(env, runs, len(env.frame))
    frame = env.frame
    bt = BacktestConfig(initial_capital=500.0, timeframe="1d", **costs)
    expected = run_strategy(frame, "ml_predictive", PARAMS, bt, RegistrySignals(env.registry))
    runner = runs.running(sid)[0]
    assert runner.drift == [] and runner.equity == expected.equity[-1]
    with env.database.session() as s:
        trades = s.scalars(select(TradeRow).order_by(TradeRow.created_at)).all()
        rows = expected.trades.matrix
        assert len(trades) == len(rows) > 1
        ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        for trade, row in zip(trades, rows, strict=True):
            assert int(pd.Timestamp(trade.opened_at).value) == ts[int(row[k.T_ENTRY_IDX])]
            assert float(trade.quantity) == row[k.T_SIZE]
        logged = s.scalars(select(PredictionLog).where(PredictionLog.endpoint == f"strategy/{sid}")).all()
        # one prediction per bar once the features are complete, each with its confidence
        assert len(logged) == len({(p.symbol, p.created_at) for p in logged}) > 50
        assert all(p.confidence is not None and 0 <= p.confidence < 1 for p in logged)
        assert {(p.model_name, p.user_id, p.symbol) for p in logged} == {(MODEL, env.users["ann"], SYMBOL)}
        confidences = [ml_confidence(s, trade_of(t)) for t in trades]
        stamped = sorted((pd.Timestamp(p.created_at).tz_localize(None), p.confidence) for p in logged)
    entry = pd.Timestamp(trades[0].opened_at).tz_localize(None)
    assert all(c is not None for c in confidences)  # the prediction at the close before each entry
    assert confidences[0] == [c for at, c in stamped if at <= entry][-1]


def test_an_unregistered_model_is_refused_at_activation_and_nothing_runs(env: Any) -> None:
    runs = service(env)
    with pytest.raises(InvalidRequestError, match="no registered model named 'nope'"):
        env.activate(runs, "ann", "ml_predictive", {"model_name": "nope"})
    assert runs._runners == {}
    with env.database.session() as s:
        assert s.scalars(select(LiveStrategy)).all() == []  # the activation's transaction rolled back


def test_a_model_gone_while_active_leaves_the_strategy_flat_and_the_others_running(env: Any) -> None:
    runs = service(env)
    feed(env, runs, 230)
    sid = env.activate(runs, "ann", "ml_predictive", {"timeframe": "1d", **PARAMS})
    hold = env.activate(runs, "bob", "buy_and_hold", {"timeframe": "1d", "capital": 500})
    runs.models.ref = "retired"  # as if the model's champion were deleted
    feed(env, runs, 233)
    assert runs.running(sid)[0].pending == 0.0 and runs.running(sid)[0].last_ts is not None
    with env.database.session() as s:
        assert s.scalars(select(TradeRow.strategy_id).where(TradeRow.status == "active")).all() == [hold]
