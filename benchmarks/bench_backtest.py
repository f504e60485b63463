"""Backtest benchmark, run by ``make bench``.

In one run on the same data:
1. sma_cross(10, 20) on 1 and 10 years of daily bars: this engine vs backtesting.py and vectorbt,
   warm process (each is run once before it is timed).
2. sma_cross on 10 years of 24/7 1-minute crypto bars (about 5.3M) loaded from Parquet: this engine
   (Parquet load included) vs vectorbt's Portfolio.from_signals on the same arrays.
3. Walk-forward: six years of daily bars, train 252 / test 63 (20 folds), LightGBM retrained per fold.

All three fill at the next bar's open with 0.1% commission. Seeded; JSON in benchmarks/results/.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py draws a progress bar per run
SEED = 42
FAST, SLOW, COMMISSION = 10, 20, 0.001


def warm_per_call(fn: Callable[[], Any], calls: int, rounds: int = 5) -> float:
    """Seconds per call in a warm process: the best of ``rounds`` averages over ``calls`` calls."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def synthetic(symbol: str, timeframe: str, start: str, end: str) -> pd.DataFrame:
    from pipelines.data.providers.synthetic import SyntheticProvider
    from pipelines.data.symbols import parse_symbol
    from pipelines.data.timeframes import parse_timeframe

    now = pd.Timestamp(end, tz="UTC")
    return SyntheticProvider(SEED, now=lambda: now).fetch(
        parse_symbol(symbol), parse_timeframe(timeframe), pd.Timestamp(start, tz="UTC"), now
    )


def ours(bars: pd.DataFrame, crypto: bool, timeframe: str) -> Callable[[], Any]:
    from pipelines.backtest import BacktestConfig, run_strategy

    config = BacktestConfig(commission=COMMISSION, timeframe=timeframe, crypto=crypto)
    return lambda: run_strategy(bars, "sma_cross", {"fast": FAST, "slow": SLOW}, config)


def backtesting_py(bars: pd.DataFrame) -> Callable[[], Any] | None:
    try:
        from backtesting import Backtest, Strategy
        from backtesting.lib import crossover
        from backtesting.test import SMA
    except ImportError:
        return None

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(SMA, self.data.Close, FAST)
            self.slow = self.I(SMA, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    frame = bars.set_index(pd.DatetimeIndex(bars["timestamp"]).tz_localize(None))[
        ["open", "high", "low", "close", "volume"]
    ].rename(columns=str.capitalize)
    bt = Backtest(frame, SmaCross, cash=10_000_000, commission=COMMISSION, finalize_trades=True)
    return lambda: bt.run()


def vectorbt(bars: pd.DataFrame) -> Callable[[], Any] | None:
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    close = pd.Series(bars["close"].to_numpy(), index=pd.DatetimeIndex(bars["timestamp"]))
    open_ = pd.Series(bars["open"].to_numpy(), index=close.index)

    def run() -> Any:
        fast = close.rolling(FAST).mean()
        slow = close.rolling(SLOW).mean()
        long = (fast > slow).shift(1, fill_value=False)  # decided on the close, filled at the next open
        entries = long & ~long.shift(1, fill_value=False)
        exits = ~long & long.shift(1, fill_value=False)
        return vbt.Portfolio.from_signals(
            close, entries, exits, price=open_, fees=COMMISSION, init_cash=10_000
        )

    return run


def daily(repeat: int) -> list[dict[str, Any]]:
    rows = []
    for years in (1, 10):
        bars = synthetic("AAPL", "1d", f"{2024 - years}-01-01", "2024-01-01")
        row: dict[str, Any] = {"case": f"sma_cross {years}y daily", "bars": len(bars)}
        row["ours_ms"] = warm_per_call(ours(bars, False, "1d"), 200) * 1e3
        for name, make in (("backtesting_py", backtesting_py), ("vectorbt", vectorbt)):
            fn = make(bars)
            if fn is not None:
                row[f"{name}_ms"] = warm_per_call(fn, 10) * 1e3
                row[f"speedup_vs_{name}"] = row[f"{name}_ms"] / row["ours_ms"]
        rows.append(row)
    return rows


def minute(home: Path, repeat: int) -> dict[str, Any]:
    from pipelines.data.ingest import ingest, plan_ingest
    from pipelines.data.providers.synthetic import SyntheticProvider
    from pipelines.data.stored_bars import load_bars
    from pipelines.settings import Settings

    settings = Settings(home=home)
    now = pd.Timestamp("2024-01-01", tz="UTC")
    plan = plan_ingest(
        settings, source="synthetic", symbols=["BTC/USDT"], timeframe="1m", start="2014-01-01", end=now
    )
    ingest(settings, plan, provider=SyntheticProvider(SEED, now=lambda: now), now=now)

    def ours_with_load() -> Any:
        bars = load_bars(settings, source="synthetic", symbol="BTC/USDT", timeframe="1m")
        return ours(bars, True, "1m")()

    bars = load_bars(settings, source="synthetic", symbol="BTC/USDT", timeframe="1m")
    row: dict[str, Any] = {"case": "sma_cross 10y 1-minute crypto", "bars": len(bars)}
    row["ours_with_parquet_load_s"] = best_of(ours_with_load, repeat)
    row["ours_engine_only_s"] = best_of(ours(bars, True, "1m"), repeat)
    fn = vectorbt(bars)
    if fn is not None:
        row["vectorbt_from_signals_s"] = best_of(fn, max(1, repeat // 2))
        row["ratio_vectorbt_over_ours_with_load"] = (
            row["vectorbt_from_signals_s"] / row["ours_with_parquet_load_s"]
        )
    return row


def walk_forward_case() -> dict[str, Any]:
    from pipelines.backtest import BacktestConfig, walk_forward

    bars = synthetic("AAPL", "1d", "2018-01-01", "2024-01-01")
    config = BacktestConfig(commission=COMMISSION, timeframe="1d")
    t0 = time.perf_counter()
    result = walk_forward(bars, "lightgbm", {}, train_window=252, test_window=63, config=config)
    seconds = time.perf_counter() - t0
    return {
        "case": "walk-forward 6y daily, lightgbm per fold",
        "bars": len(bars),
        "folds": len(result.folds),
        "seconds": seconds,
        "cores": os.cpu_count(),
    }


def main() -> None:
    repeat = 5
    results: dict[str, Any] = {"seed": SEED, "daily": daily(repeat)}
    nan = float("nan")
    for r in results["daily"]:
        print(
            f"{r['case']:<28} {r['bars']:>7,} bars  ours {r['ours_ms']:8.3f} ms  "
            f"backtesting.py {r.get('backtesting_py_ms', nan):9.2f} ms "
            f"({r.get('speedup_vs_backtesting_py', nan):6.0f}x)"
            f"  vectorbt {r.get('vectorbt_ms', nan):7.2f} ms ({r.get('speedup_vs_vectorbt', nan):5.1f}x)"
        )
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-bt-") as tmp:
        results["minute"] = m = minute(Path(tmp), 3)
    print(
        f"{m['case']:<28} {m['bars']:>9,} bars  ours incl. Parquet load {m['ours_with_parquet_load_s']:.3f} s"
        f" (engine alone {m['ours_engine_only_s']:.3f} s; target < 1 s)  vectorbt from_signals "
        f"{m.get('vectorbt_from_signals_s', nan):.3f} s "
        f"({m.get('ratio_vectorbt_over_ours_with_load', nan):.2f}x)"
    )
    results["walk_forward"] = w = walk_forward_case()
    print(f"{w['case']:<28} {w['folds']} folds in {w['seconds']:.2f} s on {w['cores']} cores (target < 2 s)")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_backtest.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"seed {SEED}; results in {out / 'bench_backtest.json'}")


if __name__ == "__main__":
    main()
