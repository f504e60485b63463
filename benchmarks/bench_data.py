"""Data and feature benchmark, run by ``make bench``.

1. Ingest five years of synthetic 1-minute bars for one symbol into Parquet (bars/s), beside a
   plain ``DataFrame.to_parquet`` of the same bars as the baseline.
2. The whole ``default`` feature set over those bars on ONE core (rows/s).
3. RSI, MACD, Bollinger, ATR and ADX: this library vs the ``ta`` package (and TA-Lib when it
   installs) on the same bars in the same run, printing each ratio.

Every run is seeded (the synthetic seed) and records it. Results go to stdout and, as JSON, to
benchmarks/results/bench_data.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 42


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def pin_to_one_core() -> str:
    """Run on a single CPU so the feature figure is a one-core figure."""
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return f"pinned to CPU {sorted(os.sched_getaffinity(0))[0]}"
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return "not pinned (no sched_setaffinity)"


def bench_ingest(home: Path, symbol: str, start: str, end: str, repeat: int) -> dict[str, Any]:
    from pipelines.data.ingest import ingest, plan_ingest
    from pipelines.data.providers.synthetic import SyntheticProvider
    from pipelines.data.store import ParquetStore
    from pipelines.settings import Settings

    now = pd.Timestamp(end, tz="UTC")
    runs = []
    rows = 0
    for i in range(repeat):
        settings = Settings(home=home / f"ingest{i}", synthetic_seed=SEED)
        request = plan_ingest(
            settings, source="synthetic", symbols=[symbol], timeframe="1m", start=start, end=end
        )
        provider = SyntheticProvider(SEED, now=lambda: now)
        t0 = time.perf_counter()
        report = ingest(settings, request, provider=provider, now=now)
        runs.append(time.perf_counter() - t0)
        rows = report.rows_written
    # Baseline: the same bars written by pandas' default to_parquet (no merge, no checks, no lock).
    bars = SyntheticProvider(SEED, now=lambda: now).fetch(
        *_sym_tf(symbol), pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    )
    baseline = best_of(lambda: bars.to_parquet(home / "baseline.parquet"), repeat)
    counter = iter(range(10_000))

    def store_write() -> None:
        n = next(counter)
        ParquetStore(home / f"write{n}", home / f"locks{n}").write(bars)

    write = best_of(store_write, repeat)
    best = min(runs)
    return {
        "symbol": symbol,
        "bars": rows,
        "seconds": best,
        "bars_per_s": rows / best,
        "store_write_seconds": write,
        "pandas_to_parquet_seconds": baseline,
        "write_ratio_vs_pandas": baseline / write,
    }


def _sym_tf(symbol: str) -> tuple[Any, Any]:
    from pipelines.data.symbols import parse_symbol
    from pipelines.data.timeframes import parse_timeframe

    return parse_symbol(symbol), parse_timeframe("1m")


def load_bars(home: Path, symbol: str) -> pd.DataFrame:
    from pipelines.data.stored_bars import load_bars as load
    from pipelines.settings import Settings

    return load(Settings(home=home / "ingest0"), source="synthetic", symbol=symbol, timeframe="1m")


def bench_features(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    from pipelines.features import compute_features, get_feature_set, warmup

    warmup()
    fset = get_feature_set("default")
    compute_features(bars.iloc[:5000], fset)
    seconds = best_of(lambda: compute_features(bars, fset), repeat)
    return {
        "rows": len(bars),
        "columns": len(fset.columns),
        "seconds": seconds,
        "rows_per_s": len(bars) / seconds,
    }


def bench_indicators(bars: pd.DataFrame, repeat: int) -> list[dict[str, Any]]:
    from pipelines.features import FeatureSet, IndicatorSpec, compute_features

    def ours(name: str, **params: Any) -> Callable[[], Any]:
        fset = FeatureSet(f"bench_{name}", (IndicatorSpec(name, params),))
        compute_features(bars.iloc[:5000], fset)
        return lambda: compute_features(bars, fset)

    h, lo, c = bars["high"], bars["low"], bars["close"]
    cases: dict[str, dict[str, Callable[[], Any] | None]] = {
        "rsi_14": {"ours": ours("rsi", period=14)},
        "macd_12_26_9": {"ours": ours("macd", fast=12, slow=26, signal=9)},
        "bb_20_2": {"ours": ours("bb", period=20, nbdev=2.0)},
        "atr_14": {"ours": ours("atr", period=14)},
        "adx_14": {"ours": ours("adx", period=14)},
    }
    try:
        import ta

        cases["rsi_14"]["ta"] = lambda: ta.momentum.RSIIndicator(c, 14).rsi()
        cases["macd_12_26_9"]["ta"] = lambda: _ta_macd(ta, c)
        cases["bb_20_2"]["ta"] = lambda: _ta_bb(ta, c)
        cases["atr_14"]["ta"] = lambda: ta.volatility.AverageTrueRange(h, lo, c, 14).average_true_range()
        cases["adx_14"]["ta"] = lambda: ta.trend.ADXIndicator(h, lo, c, 14).adx()
    except ImportError:
        print(
            "ta is not installed: run through `make bench`, which installs it in .venv-bench", file=sys.stderr
        )
    try:
        import talib

        hv, lv, cv = h.to_numpy(), lo.to_numpy(), c.to_numpy()
        cases["rsi_14"]["talib"] = lambda: talib.RSI(cv, 14)
        cases["macd_12_26_9"]["talib"] = lambda: talib.MACD(cv, 12, 26, 9)
        cases["bb_20_2"]["talib"] = lambda: talib.BBANDS(cv, 20, 2.0, 2.0)
        cases["atr_14"]["talib"] = lambda: talib.ATR(hv, lv, cv, 14)
        cases["adx_14"]["talib"] = lambda: talib.ADX(hv, lv, cv, 14)
    except ImportError:
        print("TA-Lib is not installed; its column is left out", file=sys.stderr)
    out = []
    for name, impls in cases.items():
        row: dict[str, Any] = {"indicator": name}
        for impl, fn in impls.items():
            if fn is None:
                continue
            first = best_of(fn, 1)
            # Every implementation gets the same best-of-N, except runs that take seconds each
            # (ta's ATR and ADX are Python loops): one run of those is plenty.
            row[f"{impl}_seconds"] = first if first > 2.0 else min(first, best_of(fn, repeat))
        if "ta_seconds" in row:
            row["speedup_vs_ta"] = row["ta_seconds"] / row["ours_seconds"]
        if "talib_seconds" in row:
            row["ratio_vs_talib"] = row["talib_seconds"] / row["ours_seconds"]
        out.append(row)
    return out


def _ta_macd(ta: Any, c: pd.Series) -> Any:
    m = ta.trend.MACD(c, 26, 12, 9)
    return m.macd(), m.macd_signal(), m.macd_diff()


def _ta_bb(ta: Any, c: pd.Series) -> Any:
    b = ta.volatility.BollingerBands(c, 20, 2)
    return b.bollinger_hband(), b.bollinger_mavg(), b.bollinger_lband()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbol", default="BTC/USDT", help="24/7 crypto gives 2.63M bars in five years")
    parser.add_argument("--start", default="2019-01-01")
    parser.add_argument("--end", default="2024-01-01")
    parser.add_argument("--repeat", type=int, default=5, help="best of N for every fast run")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    pinned = pin_to_one_core()
    results: dict[str, Any] = {
        "seed": SEED,
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores_available": os.cpu_count(),
            "affinity": pinned,
        },
        "when": pd.Timestamp.now(tz="UTC").isoformat(),
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-") as tmp:
        home = Path(tmp)
        results["ingest"] = ing = bench_ingest(home, args.symbol, args.start, args.end, args.repeat)
        print(
            f"ingest   {ing['bars']:,} 1m bars of {ing['symbol']} in {ing['seconds']:.3f} s = "
            f"{ing['bars_per_s'] / 1e6:.2f}M bars/s (target >= 2M; generation, checks, Parquet write)"
        )
        print(
            f"write    store.write {ing['store_write_seconds']:.3f} s (atomic, merged, year files) vs pandas "
            f"to_parquet {ing['pandas_to_parquet_seconds']:.3f} s: {ing['write_ratio_vs_pandas']:.2f}x"
        )
        bars = load_bars(home, args.symbol)
    results["features"] = fe = bench_features(bars, args.repeat)
    print(
        f"features {fe['columns']} columns over {fe['rows']:,} rows in {fe['seconds']:.3f} s = "
        f"{fe['rows_per_s'] / 1e6:.2f}M rows/s on one core (target >= 1M)"
    )
    results["indicators"] = inds = bench_indicators(bars, args.repeat)
    print(f"{'indicator':<14}{'ours s':>10}{'ta s':>10}{'x vs ta':>10}{'talib s':>10}{'x vs talib':>12}")
    for r in inds:
        print(
            f"{r['indicator']:<14}{r['ours_seconds']:>10.4f}{r.get('ta_seconds', float('nan')):>10.4f}"
            f"{r.get('speedup_vs_ta', float('nan')):>10.1f}{r.get('talib_seconds', float('nan')):>10.4f}"
            f"{r.get('ratio_vs_talib', float('nan')):>12.2f}"
        )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_data.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"seed {SEED}; results in {out / 'bench_data.json'}")


if __name__ == "__main__":
    main()
