"""Live strategies on the paper ledger: 100 symbols active on 1-minute bars.

Ten users, each with ten active strategies (one symbol each; sma_cross, rsi_reversion and
bollinger_breakout in turn, 0.5% stop-loss, 1% take-profit), warmed on 1,000 stored bars. Each step
stores one new bar for every symbol (as the live feed does, not timed), then hands the tick's bars
to the service in one call (``on_bars``; per symbol ``on_new_bars`` where there is none); timed:
that call, i.e. all runners stepped and every order placed, filled and written to the database
(SQLite, one transaction per user with orders, its runners' states in it). p50 / p99 over the
steps, and the same figures over the steps where some bar produced orders. The process's collector is
set as ``tradeforge serve`` sets it (young generation every 10,000 allocations, the middle one every
50 of those, the start-up heap frozen), and the first ``WARMUP`` ticks after activation are not timed
(SQLAlchemy compiles and caches each statement on its first use).

Run: ``PYTHONPATH=. python benchmarks/bench_live_strategies.py`` (``BENCH_STEPS``: bars, default 60).
Seeded. Also printed: the CPU time of the timed calls (``time.thread_time``: the service's own thread,
steadier than the wall clock on a loaded machine). ``BENCH_PROFILE=path`` writes a cProfile of the
timed calls to ``path``.
"""

from __future__ import annotations

import cProfile
import gc
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from pipelines.app.accounts import register_user
from pipelines.app.strategy_runs import StrategyRuns
from pipelines.app.trades import TradeDesk
from pipelines.data.ingest import open_store
from pipelines.data.schema import with_labels
from pipelines.db import open_database
from pipelines.db.trading_models import OrderRow
from pipelines.settings import Settings
from pipelines.trading.strategy_store import StrategyStore

SYMBOLS = 100
USERS = 10
WARM = 1000
STEPS = int(os.environ.get("BENCH_STEPS", "60"))
PROFILE = os.environ.get("BENCH_PROFILE")
WARMUP = 5
CASES: list[tuple[str, dict[str, Any]]] = [
    ("sma_cross", {"fast": 5, "slow": 20}),
    ("rsi_reversion", {"period": 14, "oversold": 40.0, "overbought": 60.0}),
    ("bollinger_breakout", {"period": 20, "nbdev": 1.5}),
]
RUN: dict[str, Any] = {
    "capital": 500,
    "commission": 0.001,
    "slippage": 0.0005,
    "stop_loss": 0.005,
    "take_profit": 0.01,
}


def minute_bars(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.003, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.002, n)) * close
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(1.0, 10.0, n),
        }
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home", paper_initial_balance=1_000_000, live_follow_max=SYMBOLS)
        database = open_database(settings)
        store = open_store(settings)
        symbols = [f"C{i:03d}/USDT" for i in range(SYMBOLS)]
        frames = {s: minute_bars(WARM + WARMUP + STEPS, seed=i) for i, s in enumerate(symbols)}
        for s, frame in frames.items():
            store.write(with_labels(frame.iloc[:WARM], symbol=s, timeframe="1m", source="synthetic"))
        runs = StrategyRuns(settings, database, TradeDesk(settings, database))
        runs.lead()
        strategies = StrategyStore(runs)
        with database.transaction() as session:
            users = [register_user(session, f"user{u}", "correct-horse-battery").id for u in range(USERS)]
        for i, s in enumerate(symbols):
            name, params = CASES[i % len(CASES)]
            with database.transaction() as session:
                record = strategies.create(
                    session, users[i % USERS], f"{name} {s}", name, {"symbols": [s], **RUN, **params}
                )
                strategies.activate(session, record)
        young, older, oldest = gc.get_threshold()
        gc.set_threshold(max(young, 10_000), max(older, 50), oldest)
        gc.collect()
        gc.freeze()
        times, cpu, with_orders = [], [], []
        placed = 0
        profile = cProfile.Profile() if PROFILE else None
        for step in range(WARM, WARM + WARMUP + STEPS):
            bars = {s: f.iloc[step : step + 1].reset_index(drop=True) for s, f in frames.items()}
            for s, bar in bars.items():  # the feed stores the bar first
                store.write(with_labels(bar, symbol=s, timeframe="1m", source="synthetic"))
            timed = step >= WARM + WARMUP
            if profile is not None and timed:
                profile.enable()
            c0, t0 = time.thread_time(), time.perf_counter()
            tick = getattr(runs, "on_bars", None)  # a whole tick at once (absent before batching)
            if tick is not None:
                tick("1m", bars)
            else:
                for s, bar in bars.items():
                    runs.on_new_bars(s, "1m", bar)
            elapsed, spent = time.perf_counter() - t0, time.thread_time() - c0
            if profile is not None and timed:
                profile.disable()
            with database.session() as session:
                now = session.scalar(select(func.count()).select_from(OrderRow)) or 0
            if timed:
                times.append(elapsed)
                cpu.append(spent)
                if now > placed:
                    with_orders.append(elapsed)
            placed = now
        runs.close()
        database.close()
    if profile is not None and PROFILE:
        profile.dump_stats(PROFILE)
    ms, ms_orders = np.asarray(times) * 1e3, np.asarray(with_orders) * 1e3
    print(
        f"live strategies: {SYMBOLS} symbols ({USERS} users), {STEPS} bars each, {placed} orders placed: "
        f"new bar -> all orders placed (runners + paper ledger + DB write) "
        f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms; "
        f"bars with orders ({len(with_orders)}): p50 {np.percentile(ms_orders, 50):.1f} ms, "
        f"p99 {np.percentile(ms_orders, 99):.1f} ms; "
        f"CPU (service thread) mean {np.mean(cpu) * 1e3:.1f} ms, p50 {np.percentile(cpu, 50) * 1e3:.1f} ms, "
        f"p99 {np.percentile(cpu, 99) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
