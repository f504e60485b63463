"""A live ``ml_predictive`` runner reads the model's features over the series' whole stored history,
not over its window: on a series longer than the window its signal at every bar is the backtest's
over the full history (cumulative features such as on-balance volume included), each new bar costs
one incremental feature update and one prediction, and the stored history is read once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from pipelines.app.live_signals import LiveSignal
from pipelines.backtest.strategies import model_outputs
from pipelines.data.ingest import open_store
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.schema import with_labels
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.db.models import PredictionLog
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings
from pipelines.trading.runner import default_lookback
from tests.trading.test_strategy_ml import MODEL, PARAMS, feed, service
from tests.trading.test_strategy_runs import SYMBOL, Env

START, END = pd.Timestamp("2019-01-01", tz="UTC"), pd.Timestamp("2023-12-01", tz="UTC")
STORED = 1150  # bars stored before the activation: more than the window


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


def test_live_signals_equal_the_backtests_over_the_full_history_past_the_window(env: Any) -> None:
    frame = env.frame
    window = default_lookback("ml_predictive", PARAMS)
    assert len(frame) > STORED > window
    open_store(env.settings).write(
        with_labels(frame.iloc[:STORED], symbol=SYMBOL, timeframe="1d", source="synthetic")
    )
    env.written = STORED
    runs = service(env)
    sid = env.activate(runs, "ann", "ml_predictive", {"timeframe": "1d", **PARAMS})
    feed(env, runs, len(frame))

    loaded = env.registry.load(MODEL, "champion")
    meta = loaded.meta
    full = model_outputs(loaded.model, frame, meta.feature_set, meta.scale, meta.error_scale or None)
    closes = frame["timestamp"] + pd.Timedelta(days=1)  # a prediction is stamped with its bar's close
    expected = dict(zip(closes.dt.tz_localize(None), full["signal"].tolist(), strict=True))
    with env.database.session() as s:
        logged = s.scalars(select(PredictionLog).where(PredictionLog.endpoint == f"strategy/{sid}")).all()
        got = {pd.Timestamp(p.created_at).tz_localize(None): p.signal for p in logged}
    assert len(got) >= len(frame) - STORED  # each fed bar (the warm one's log meets the activation's lock)
    assert got == {at: expected[at] for at in got}

    # The window alone gives other signals: the test tells the full history from the window.
    tail = frame.iloc[-window:].reset_index(drop=True)
    windowed = model_outputs(loaded.model, tail, meta.feature_set, meta.scale, meta.error_scale or None)
    assert not np.array_equal(windowed["signal"][-50:], full["signal"][-50:], equal_nan=True)

    context = runs.running(sid)[0].config.context
    assert isinstance(context, LiveSignal)
    stream = context.features._stream
    assert context.features.seeds == 1  # the stored history read once, at the activation
    assert stream is not None and stream.replays == len(frame) - STORED  # one update per new bar
