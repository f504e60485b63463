"""Strategy runner benchmark: batch replay vs the backtest, and the live per-bar latency.

1. One year of 24/7 1-minute bars (525,600) for one symbol, per strategy (sma_cross, rsi_reversion,
   bollinger_breakout, each with a 0.5% stop-loss and 1% take-profit): the runner's batch replay
   vs ``run_strategy`` (targets + ``run_backtest``) on the same bars and costs, the same trades and
   equity asserted (==). Best of 3, warm process.
2. Live: 100 runners (one symbol each) fed one new 1-minute bar each; the time from the new bar
   to all 100 symbols' orders planned, per bar, over 200 bars: p50 and p99.

Run: ``PYTHONPATH=. python benchmarks/bench_runner.py``. Seeded.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.runner import run_strategy
from pipelines.features.inputs import utc_nanos
from pipelines.trading.replay import replay
from pipelines.trading.runner import Bar, RunnerConfig, StrategyRunner

N_YEAR = 525_600
CASES: list[tuple[str, dict[str, Any]]] = [
    ("sma_cross", {"fast": 10, "slow": 50}),
    ("rsi_reversion", {"period": 14, "oversold": 30.0, "overbought": 70.0}),
    ("bollinger_breakout", {"period": 20, "nbdev": 2.0}),
]
CONFIG = BacktestConfig(
    commission=0.001, slippage=0.0005, allow_short=True, stop_loss=0.005, take_profit=0.01, timeframe="1m"
)


def minute_bars(n: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.0004, n)) * close
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(1.0, 10.0, n),
        }
    )


def best_of(fn: Any, rounds: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_replay(bars: pd.DataFrame) -> None:
    print(f"replay of {len(bars):,} 1-minute bars, one symbol (best of 3)")
    for name, params in CASES:
        cfg = RunnerConfig("bench", "u", "BTC/USDT", name, params, CONFIG)
        t_bt, expected = best_of(lambda: run_strategy(bars, name, params, CONFIG))  # noqa: B023
        t_run, runner_and_result = best_of(lambda: _replayed(cfg, bars))  # noqa: B023
        runner, result = runner_and_result
        assert np.array_equal(result.equity, expected.equity)
        rows, _ = runner.closed_out(float(bars["close"].iloc[-1]))
        assert np.array_equal(rows, expected.trades.matrix)
        print(
            f"  {name:20s} trades {len(expected.trades):6d}  run_strategy {t_bt * 1e3:8.1f} ms  "
            f"runner replay {t_run * 1e3:8.1f} ms  ratio {t_run / t_bt:5.1f}x  (same trades, equity)"
        )


def _replayed(cfg: RunnerConfig, bars: pd.DataFrame) -> tuple[StrategyRunner, Any]:
    runner = StrategyRunner(cfg)
    return runner, replay(runner, bars)


def bench_live(symbols: int = 100, warm: int = 1000, steps: int = 200) -> None:
    bars = minute_bars(warm + steps, seed=7)
    runners = []
    for s in range(symbols):
        name, params = CASES[s % len(CASES)]
        runner = StrategyRunner(RunnerConfig("bench", "u", f"S{s}", name, params, CONFIG))
        replay(runner, bars.iloc[:warm])
        runners.append(runner)
    cols = [bars[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    ts = utc_nanos(bars["timestamp"])
    times = []
    for i in range(warm, warm + steps):
        bar = Bar(int(ts[i]), *(float(c[i]) for c in cols))
        t0 = time.perf_counter()
        for runner in runners:
            runner.on_bar(bar)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1e3
    lookback = runners[0].lookback
    print(
        f"live: {symbols} symbols, one new bar each (window {lookback} bars): new bar -> all orders "
        f"planned p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms"
    )


if __name__ == "__main__":
    bench_replay(minute_bars(N_YEAR))
    bench_live()
