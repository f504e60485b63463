"""What the honest-results statistics cost, run by ``make bench``.

The process is pinned to one CPU and its thread pools to one thread (the figures are one core's
work, so other processes on the machine sway them less). In one run on the same data, alternating
the two so that machine noise hits both alike:
1. A 10-year daily walk-forward (LightGBM retrained per fold, train 252 / test 63 bars, 0.1%
   commission) without the statistics (``in_sample=False``, no benchmark or significance blocks)
   and with them (each fold's model traded on its train window for the walk-forward efficiency,
   buy and hold on the same bars, the significance block). Best of ``REPEAT`` each.
2. The statistics of a 1,000-trial comparison on 10 years of daily returns: the deflated Sharpe
   ratio of the best and the probability of backtest over-fitting (CSCV, 16 blocks: 12,870 splits),
   and the PBO alone (target <= 0.2 s). ``--trials-only`` runs this case alone (and writes no JSON).
3. A 1,000-combination sweep (``sma_cross``, 50 fast x 20 slow) on 10 years of daily bars without the
   statistics (no CSCV block sums in the compiled pass, no significance block, no benchmark) and with
   them, two ways: ``run_sweep`` on bars in memory (then ``honest_sweep``: buy and hold, PSR against
   it), the kernel-only row; and as the API sweep and the ``sweep`` job run it (``run_sweep_query``:
   bars read from the store, the sweep with its blocks, the MLflow run with the CSV of every
   combination, the heat map and the blocks' metrics and artifact). The statistics are switched off
   inside this process by patching the three internal steps (:func:`_statistics_off`; the product has
   no such option). Best of ``SWEEP_REPEAT`` each, alternated. ``--sweep-only`` runs these alone.

Each case reports wall-clock seconds and the process's CPU seconds: on a machine shared with other
work, wall time swings by tens of percent between identical runs while CPU time measures this
process's own work; the overhead target is judged on CPU time.

Seeded; JSON in benchmarks/results/.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 42
REPEAT = 3
SWEEP_REPEAT = 7
COMMISSION = 0.001


def synthetic(symbol: str, start: str, end: str) -> pd.DataFrame:
    from pipelines.data.providers.synthetic import SyntheticProvider
    from pipelines.data.symbols import parse_symbol
    from pipelines.data.timeframes import parse_timeframe

    now = pd.Timestamp(end, tz="UTC")
    return SyntheticProvider(SEED, now=lambda: now).fetch(
        parse_symbol(symbol), parse_timeframe("1d"), pd.Timestamp(start, tz="UTC"), now
    )


def walk_forward_case() -> dict[str, Any]:
    """Best-of seconds of the walk-forward without and with the statistics, alternated."""
    from pipelines.backtest import BacktestConfig, walk_forward
    from pipelines.backtest.honest import honest_walk_forward

    bars = synthetic("AAPL", "2013-01-01", "2024-01-01")  # a year before the start warms the features
    start = pd.Timestamp("2014-01-01", tz="UTC")
    config = BacktestConfig(commission=COMMISSION, timeframe="1d")
    kwargs: dict[str, Any] = {
        "start": start,
        "train_window": 252,
        "test_window": 63,
        "config": config,
        "n_jobs": 1,
    }

    def without() -> Any:
        return walk_forward(bars, "lightgbm", {}, in_sample=False, **kwargs)

    def with_stats() -> Any:
        result = walk_forward(bars, "lightgbm", {}, in_sample=True, **kwargs)
        return result, honest_walk_forward(bars, result, config, symbol="AAPL")

    without()  # warm: numba caches, model imports
    plain, honest, stats_only = [], [], []
    plain_cpu, honest_cpu = [], []
    for _ in range(REPEAT):
        for fn, times, cpu in ((without, plain, plain_cpu), (with_stats, honest, honest_cpu)):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        result, _ = out
        t0 = time.perf_counter()
        honest_walk_forward(bars, result, config, symbol="AAPL")
        stats_only.append(time.perf_counter() - t0)
    return {
        "case": "walk-forward 10y daily, lightgbm per fold",
        "bars": len(bars),
        "folds": len(result.folds),
        "without_s": min(plain),
        "with_s": min(honest),
        "without_cpu_s": min(plain_cpu),
        "with_cpu_s": min(honest_cpu),
        "blocks_only_s": min(stats_only),
        "overhead_pct": (min(honest) / min(plain) - 1.0) * 100.0,
        "overhead_cpu_pct": (min(honest_cpu) / min(plain_cpu) - 1.0) * 100.0,
        "wall_runs_s": {"without": plain, "with": honest},
        "cores": 1,
    }


def trials_case(trials: int = 1000, days: int = 2520) -> dict[str, Any]:
    """Seconds of the deflated Sharpe ratio and PBO of ``trials`` strategies' daily returns, and of
    the PBO alone (wall and CPU, best of ``REPEAT``)."""
    from pipelines.backtest.overfitting import pbo_block
    from pipelines.backtest.significance import sharpe_significance

    rng = np.random.default_rng(SEED)
    returns = rng.normal(0.0, 0.01, size=(days, trials))

    def stats() -> dict[str, Any]:
        sharpes = returns.mean(axis=0) / returns.std(axis=0, ddof=1) * np.sqrt(252)
        best = int(np.argmax(sharpes))
        block = sharpe_significance(
            returns[:, best],
            per_year=252,
            trials=trials,
            trials_sharpe_variance=float(np.var(sharpes, ddof=1)),
        )
        block["overfitting"] = pbo_block(returns)
        return block

    stats()  # warm: the compiled CSCV pass
    times, pbo_wall, pbo_cpu = [], [], []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        block = stats()
        times.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        pbo_block(returns)
        pbo_wall.append(time.perf_counter() - t0)
        pbo_cpu.append(time.process_time() - c0)
    return {
        "case": f"deflated Sharpe + PBO of {trials:,} trials x {days:,} daily returns",
        "seconds": min(times),
        "pbo_seconds": min(pbo_wall),
        "pbo_cpu_s": min(pbo_cpu),
        "pbo_target_s": 0.2,
        "best_sharpe": block["sharpe_ratio"],
        "deflated_sharpe": block["deflated_sharpe"],
        "pbo": block["overfitting"]["pbo"],
    }


def sweep_case() -> dict[str, Any]:
    """Best-of seconds (wall and CPU) of a 1,000-combination sweep without and with the statistics:
    ``run_sweep`` on bars in memory, as the kernel-only row."""
    from pipelines.backtest import BacktestConfig, sweep
    from pipelines.backtest.honest import honest_sweep

    bars = synthetic("AAPL", "2014-01-01", "2024-01-01")
    config = BacktestConfig(commission=COMMISSION, timeframe="1d")
    grid = {"fast": "5:54", "slow": "60:250:10"}  # 50 x 20, every one fast < slow

    def without() -> Any:
        with _statistics_off():
            return sweep.run_sweep(bars, "sma_cross", grid, config)

    def with_stats() -> Any:
        return honest_sweep(bars, sweep.run_sweep(bars, "sma_cross", grid, config), symbol="AAPL")

    without(), with_stats()  # warm: the compiled kernels
    runs, result = _alternate(without, with_stats, SWEEP_REPEAT)
    return {
        "case": "sweep of 1,000 sma_cross combinations on 10y daily bars",
        "bars": len(bars),
        "combinations": len(result.grid),
        **_best(runs),
        "pbo": result.significance["overfitting"]["pbo"],
        "verdict": result.benchmark["verdict"],
        "cores": 1,
    }


def _best(runs: dict[str, list[float]]) -> dict[str, Any]:
    """Best of each list, and the with/without overheads in percent (CPU and wall)."""
    best = {name: min(values) for name, values in runs.items()}
    return {
        "without_s": best["without"],
        "with_s": best["with"],
        "without_cpu_s": best["without_cpu"],
        "with_cpu_s": best["with_cpu"],
        "overhead_pct": (best["with"] / best["without"] - 1.0) * 100.0,
        "overhead_cpu_pct": (best["with_cpu"] / best["without_cpu"] - 1.0) * 100.0,
    }


def _alternate(without: Any, with_stats: Any, repeat: int) -> tuple[dict[str, list[float]], Any]:
    """Wall and CPU seconds of ``repeat`` alternated calls of each; the last result of ``with_stats``."""
    runs: dict[str, list[float]] = {"without": [], "with": [], "without_cpu": [], "with_cpu": []}
    result = None
    for _ in range(repeat):
        for name, fn in (("without", without), ("with", with_stats)):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            runs[name].append(time.perf_counter() - t0)
            runs[f"{name}_cpu"].append(time.process_time() - c0)
    return runs, result


def _statistics_off() -> Any:
    """Every statistic of a sweep switched off inside the process (no option of the product): no
    CSCV block sums in the compiled pass, no significance block (its trial count alone, which the
    MLflow run logs), no benchmark block (so no ``honest_results.json`` either)."""
    from contextlib import ExitStack
    from unittest import mock

    from pipelines.app import sweep_plan
    from pipelines.backtest import sweep

    stack = ExitStack()
    stack.enter_context(mock.patch.object(sweep, "_pbo_blocks", return_value=(0, 0)))
    stack.enter_context(
        mock.patch.object(
            sweep, "_significance", lambda metrics, *_: {"trials": int(metrics["sharpe_ratio"].size)}
        )
    )
    stack.enter_context(mock.patch.object(sweep_plan, "sweep_honesty", lambda _s, _b, result, *_: result))
    return stack


def front_end_sweep_case(home: Path) -> dict[str, Any]:
    """Best-of seconds of the same 1,000 combinations as the API sweep and the ``sweep`` job run them
    (``run_sweep_query``: bars read from the store, the sweep, its MLflow run with the CSV of every
    combination and the heat map), without and with the statistics, alternated."""
    from pipelines.app.sweep import SweepQuery, run_sweep_query
    from pipelines.models.tracking import open_tracker
    from pipelines.settings import Settings

    settings = Settings(home=home, synthetic_seed=SEED)
    tracker = open_tracker(settings)
    query = SweepQuery(
        symbol="AAPL",
        strategy="sma_cross",
        grid={"fast": "5:54", "slow": "60:250:10"},
        source="synthetic",
        start_date="2014-01-01",
        end_date="2024-01-01",
        commission=COMMISSION,
        top=20,
    )

    def without() -> Any:
        with _statistics_off():
            return run_sweep_query(settings, tracker, query)

    def with_stats() -> Any:
        return run_sweep_query(settings, tracker, query)

    without(), with_stats()  # warm: the bars ingested into the store, the MLflow store created
    runs, answer = _alternate(without, with_stats, SWEEP_REPEAT)
    body = answer.body
    return {
        "case": "sweep of 1,000 sma_cross combinations as the API / job runs it (store, MLflow run)",
        "combinations": body["combinations"],
        **_best(runs),
        "pbo": body["significance"]["overfitting"]["pbo"],
        "verdict": body["benchmark"]["verdict"],
        "cores": 1,
    }


def pin_one_core() -> None:
    """One CPU and one thread per pool (LightGBM's OpenMP, BLAS)."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    threadpool_limits(limits=1)


def _print_sweep(row: dict[str, Any], label: str) -> None:
    print(
        f"{row['case']}: {row['combinations']:,} combinations, without statistics "
        f"{row['without_cpu_s']:.3f} s CPU ({row['without_s']:.3f} s wall), with {row['with_cpu_s']:.3f} s "
        f"CPU ({row['with_s']:.3f} s wall): {label} {row['overhead_cpu_pct']:+.1f}% CPU "
        f"({row['overhead_pct']:+.1f}% wall); target < 5%"
    )


def main() -> None:
    """``--trials-only``: the 1,000-trial statistics alone (seconds, not a minute); ``--sweep-only``:
    the sweeps without the walk-forward. Neither writes the JSON."""
    args = sys.argv[1:]
    pin_one_core()
    results: dict[str, Any] = {"seed": SEED}
    if "--sweep-only" not in args:
        results["trials"] = t = trials_case()
        print(
            f"{t['case']}: {t['seconds']:.2f} s (best raw Sharpe {t['best_sharpe']:.2f}, deflated "
            f"{t['deflated_sharpe']:.3f}, PBO {t['pbo']:.2f}); PBO alone {t['pbo_seconds']:.3f} s wall, "
            f"{t['pbo_cpu_s']:.3f} s CPU (target <= {t['pbo_target_s']} s)"
        )
    if "--trials-only" in args:
        return
    results["sweep"] = sweep_case()
    _print_sweep(results["sweep"], "kernel only (bars in memory, no MLflow)")
    with tempfile.TemporaryDirectory(prefix="bench-honest-") as tmp:
        results["sweep_front_end"] = front_end_sweep_case(Path(tmp) / "home")
    _print_sweep(results["sweep_front_end"], "as the front ends run it")
    if "--sweep-only" in args:
        return
    results["walk_forward"] = w = walk_forward_case()
    print(
        f"{w['case']}: {w['folds']} folds, without statistics {w['without_cpu_s']:.2f} s CPU "
        f"({w['without_s']:.2f} s wall), with {w['with_cpu_s']:.2f} s CPU ({w['with_s']:.2f} s wall): "
        f"{w['overhead_cpu_pct']:+.1f}% CPU ({w['overhead_pct']:+.1f}% wall); blocks alone "
        f"{w['blocks_only_s'] * 1e3:.1f} ms; target < 5%"
    )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_honest.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"seed {SEED}; results in {out / 'bench_honest.json'}")


if __name__ == "__main__":
    main()
