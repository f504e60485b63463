"""Live ``ml_predictive`` per-bar cost: one runner's new bar -> its target, model features included.

A LightGBM model (30 trees, the default feature set of 101 columns) is trained and registered in a
temporary home; 1-minute bars (a seeded random walk) are stored. One runner warms on the stored
history and is then fed new bars one by one; timed per bar: ``StrategyRunner.on_bar`` (the model's
signal, the target, the orders). Two model contexts on the same bars:

- window: the backtest's ``RegistrySignals``, the model's features computed over the runner's
  1,000-bar window on every bar (the live path before);
- live: ``LiveSignal``, the features over the whole stored history, updated per bar by a
  ``FeatureStream`` and the model called on the new row only (the live path now).

Run: ``PYTHONPATH=. python benchmarks/bench_ml_live.py``. Seeded.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.app.live_signals import LiveModels, LiveSignal
from pipelines.app.train import plan_training, train_model
from pipelines.backtest.strategies import RegistrySignals
from pipelines.data.ingest import open_store
from pipelines.data.market import source_for
from pipelines.data.schema import with_labels
from pipelines.data.symbols import parse_symbol
from pipelines.db import open_database
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings
from pipelines.trading.runner import Bar, RunnerConfig, StrategyRunner

MODEL, SYMBOL = "lgbm_bench", "AAPL"
HISTORY, FED = 20_000, 300  # stored 1-minute bars before the runner starts; bars timed


def random_bars(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.0005, n)) * close
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(1e3, 1e5, n),
        }
    )


def timed(runner: StrategyRunner, bars: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Per bar: wall-clock and CPU (``process_time``: less swayed by other jobs on a shared machine) ms."""
    cols = [bars[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    ts = bars["timestamp"].to_numpy("datetime64[ns]").view(np.int64)
    wall, cpu = [], []
    for i in range(len(bars)):
        bar = Bar(int(ts[i]), *(float(c[i]) for c in cols))
        began, began_cpu = time.perf_counter(), time.process_time()
        runner.on_bar(bar)
        cpu.append((time.process_time() - began_cpu) * 1000.0)
        wall.append((time.perf_counter() - began) * 1000.0)
    return wall, cpu


def run(home: Path) -> dict[str, Any]:
    settings = Settings(home=home, history_start="2022-01-01")
    tracker = open_tracker(settings)
    params = {"n_estimators": 30, "num_leaves": 7}
    plan = plan_training(settings, model_type="lightgbm", model_name=MODEL, symbol=SYMBOL, params=params)
    train_model(settings, plan, tracker)
    registry = ModelRegistry(tracker, home / "cache")
    frame = random_bars(HISTORY + FED)
    source = source_for(settings, parse_symbol(SYMBOL))
    stored = with_labels(frame.iloc[:HISTORY], symbol=SYMBOL, timeframe="1m", source=source)
    open_store(settings).write(stored)
    logged: list[Any] = []
    models = LiveModels(settings, open_database(settings), registry=registry, log=logged.append)
    config = RunnerConfig("bench", "u", SYMBOL, "ml_predictive", {"model_name": MODEL, "threshold": 0.3})
    contexts = {"window": RegistrySignals(registry), "live": LiveSignal(models, config, "1m")}
    result: dict[str, dict[str, list[float]]] = {}
    runners = {}
    for name, context in contexts.items():
        runners[name] = runner = StrategyRunner(dataclasses.replace(config, context=context))
        runner.warm(frame.iloc[HISTORY - runner.lookback : HISTORY])
    for lo in range(HISTORY, HISTORY + FED, 50):  # alternating, so both see the same machine load
        for name, runner in runners.items():
            wall, cpu = timed(runner, frame.iloc[lo : lo + 50])
            result.setdefault(name, {"wall": [], "cpu": []})
            result[name]["wall"] += wall
            result[name]["cpu"] += cpu
    return {
        name: {f"{kind} p50 ms": round(float(np.median(ms)), 2) for kind, ms in times.items()}
        | {"wall p99 ms": round(float(np.percentile(times["wall"], 99)), 2)}
        for name, times in result.items()
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp)))


if __name__ == "__main__":
    main()
