"""Parameter sweep benchmark, run by ``make bench``.

sma_cross over fast 5..100 x slow 10..300 (step 1, fast < slow) on 10 years of synthetic daily bars
(seed 42), 0.1% commission, fills at the next bar's open:

1. ours: ``run_sweep`` over the whole grid (indicators once per distinct length, one parallel
   compiled pass, every combination's metrics, the best's backtest, deflated Sharpe ratio and PBO);
2. vectorbt: ``vbt.MA.run_combs`` on the same pairs (each MA once), ``ma_above`` shifted a bar as
   entries and exits, ``Portfolio.from_signals`` at the open, and every column's Sharpe ratio;
3. backtesting.py: ``Backtest.optimize`` over a 100-combination subset (its per-combination cost is
   compared with ours).

Warm processes (each is run once before it is timed). Seeded; JSON in benchmarks/results/.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_backtest import synthetic

HERE = Path(__file__).resolve().parent
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py draws a progress bar per run
SEED = 42
COMMISSION = 0.001
FAST, SLOW = (5, 100), (10, 300)
SUBSET_FAST, SUBSET_SLOW = range(5, 55, 5), range(110, 310, 20)  # 10 x 10, all fast < slow


def timed(fn: Callable[[], Any], repeat: int, warm: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """(best seconds of ``repeat`` runs after a warm-up run of ``warm`` (default ``fn``), the last result)."""
    result = (warm or fn)()
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def ours(bars: pd.DataFrame) -> Callable[[], Any]:
    from pipelines.backtest import BacktestConfig
    from pipelines.backtest.sweep import run_sweep

    config = BacktestConfig(commission=COMMISSION)
    grid = {"fast": f"{FAST[0]}:{FAST[1]}:1", "slow": f"{SLOW[0]}:{SLOW[1]}:1"}
    return lambda: run_sweep(bars, "sma_cross", grid, config)


def pairs() -> list[tuple[int, int]]:
    return [(f, s) for f in range(FAST[0], FAST[1] + 1) for s in range(SLOW[0], SLOW[1] + 1) if f < s]


def vectorbt(bars: pd.DataFrame, grid: list[tuple[int, int]]) -> Callable[[], Any] | None:
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    index = pd.DatetimeIndex(bars["timestamp"]).tz_localize(None)
    close = pd.Series(bars["close"].to_numpy(), index=index)
    open_ = bars["open"].to_numpy()[:, None]
    windows = sorted({w for pair in grid for w in pair})

    def our_pairs(params: Any, _r: int) -> list[tuple[Any, Any]]:
        """The grid's (fast, slow) pairs out of the parameter tuples run_combs hands over."""
        by_window = {p[0]: p for p in params}
        return [(by_window[f], by_window[s]) for f, s in grid]

    def run() -> Any:
        fast, slow = vbt.MA.run_combs(
            close, window=windows, r=2, comb_func=our_pairs, short_names=["fast", "slow"]
        )
        long = fast.ma_above(slow)
        long = long.shift(1, fill_value=False).astype(bool)  # decided on the close, filled at the next open
        before = long.shift(1, fill_value=False).astype(bool)
        portfolio = vbt.Portfolio.from_signals(
            close, long & ~before, ~long & before, price=open_, fees=COMMISSION, init_cash=10_000, freq="1D"
        )
        return portfolio.sharpe_ratio()

    return run


try:  # at module level: backtesting.py's optimizer pickles the strategy class to its workers
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):  # type: ignore[misc]
        fast = 10
        slow = 20

        def init(self) -> None:
            self.f = self.I(SMA, self.data.Close, self.fast)
            self.s = self.I(SMA, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.f, self.s):
                self.buy()
            elif crossover(self.s, self.f):
                self.position.close()

except ImportError:
    Backtest = None


def backtesting_py(bars: pd.DataFrame) -> Callable[[], Any] | None:
    if Backtest is None:
        return None
    frame = bars.set_index(pd.DatetimeIndex(bars["timestamp"]).tz_localize(None))[
        ["open", "high", "low", "close", "volume"]
    ].rename(columns=str.capitalize)
    bt = Backtest(frame, SmaCross, cash=10_000_000, commission=COMMISSION, finalize_trades=True)
    return lambda: bt.optimize(fast=SUBSET_FAST, slow=SUBSET_SLOW, maximize="Sharpe Ratio")


def main() -> None:
    bars = synthetic("AAPL", "1d", "2014-01-01", "2024-01-01")
    row: dict[str, Any] = {"seed": SEED, "bars": len(bars), "cores": os.cpu_count()}
    row["ours_s"], result = timed(ours(bars), 3)
    row["combinations"] = n = len(result.grid)
    row["ours_per_combination_us"] = row["ours_s"] / n * 1e6
    row["ours_pbo"] = (result.significance["overfitting"] or {}).get("pbo")
    row["ours_deflated_sharpe"] = result.significance["deflated_sharpe"]
    print(f"ours: {row['ours_s']:.3f} s for {n:,} combinations", flush=True)
    fn = vectorbt(bars, pairs())
    if fn is not None:
        row["vectorbt_s"], sharpe = timed(fn, 1, warm=vectorbt(bars, pairs()[:20]))
        print(f"vectorbt: {row['vectorbt_s']:.3f} s", flush=True)
        row["speedup_vs_vectorbt"] = row["vectorbt_s"] / row["ours_s"]
        row["vectorbt_columns"] = int(np.asarray(sharpe).size)
    fn = backtesting_py(bars)
    if fn is not None:
        combos = len(SUBSET_FAST) * len(SUBSET_SLOW)
        row["backtesting_py_subset_s"], _ = timed(fn, 1, warm=lambda: None)
        row["backtesting_py_per_combination_ms"] = row["backtesting_py_subset_s"] / combos * 1e3
        row["speedup_per_combination_vs_backtesting_py"] = (
            row["backtesting_py_per_combination_ms"] * 1e3 / row["ours_per_combination_us"]
        )
    row["load_average_1m"] = os.getloadavg()[0]
    nan = float("nan")
    print(
        f"sma_cross sweep, {n:,} combinations on {row['bars']:,} daily bars ({row['cores']} cores, "
        f"load {row['load_average_1m']:.1f}):\n"
        f"  ours           {row['ours_s']:8.3f} s  ({row['ours_per_combination_us']:.1f} us a combination; "
        "goal <= 1 s)\n"
        f"  vectorbt       {row.get('vectorbt_s', nan):8.3f} s  "
        f"({row.get('speedup_vs_vectorbt', nan):.1f}x ours)\n"
        f"  backtesting.py {row.get('backtesting_py_subset_s', nan):8.3f} s for "
        f"{len(SUBSET_FAST) * len(SUBSET_SLOW)} combinations "
        f"({row.get('backtesting_py_per_combination_ms', nan):.2f} ms each: "
        f"{row.get('speedup_per_combination_vs_backtesting_py', nan):,.0f}x ours per combination; "
        "goal >= 1,000x)"
    )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_sweep.json").write_text(json.dumps(row, indent=2, default=float))
    print(f"seed {SEED}; results in {out / 'bench_sweep.json'}")


if __name__ == "__main__":
    main()
