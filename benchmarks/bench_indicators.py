"""Every indicator that TA-Lib also has, ours vs TA-Lib, run by ``make bench``.

Five years of synthetic 1-minute BTC/USDT bars (2.63M, seed 42), the process pinned to one CPU.
Each indicator is timed best-of-N both ways in the same run, alternating ours and TA-Lib so load
from other processes falls on both; the clock is the process's CPU time (user + system, so page
faults count), which time spent waiting for a busy core does not inflate. "Ours" is the indicator
on validated bars with a fresh memo cache, allocating its own output arrays as TA-Lib does (no
input validation, no output frame); where one of our indicators returns what TA-Lib needs several
calls for (PLUS_DI and MINUS_DI; MAX, MIN and MIDPRICE), TA-Lib's time is the sum of those calls.
The table also gives the largest relative difference after warm-up over every output column (the
tests require <= 1e-9).

Results go to stdout and, as JSON, to benchmarks/results/bench_indicators.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 42
Arrays = dict[str, np.ndarray]
# (our indicator, its params) -> TA-Lib's outputs in our output order
Reference = Callable[[Any, Arrays], Sequence[np.ndarray]]


def _one(fn: Callable[[Any, Arrays], np.ndarray]) -> Reference:
    return lambda t, a: (fn(t, a),)


CASES: list[tuple[str, dict[str, Any], Reference]] = [
    ("sma", {"period": 20}, _one(lambda t, a: t.SMA(a["close"], 20))),
    ("ema", {"period": 20}, _one(lambda t, a: t.EMA(a["close"], 20))),
    ("wma", {"period": 20}, _one(lambda t, a: t.WMA(a["close"], 20))),
    ("dema", {"period": 20}, _one(lambda t, a: t.DEMA(a["close"], 20))),
    ("tema", {"period": 20}, _one(lambda t, a: t.TEMA(a["close"], 20))),
    ("trima", {"period": 20}, _one(lambda t, a: t.TRIMA(a["close"], 20))),
    ("kama", {"period": 10}, _one(lambda t, a: t.KAMA(a["close"], 10))),
    ("macd", {"fast": 12, "slow": 26, "signal": 9}, lambda t, a: t.MACD(a["close"], 12, 26, 9)),
    ("adx", {"period": 14}, _one(lambda t, a: t.ADX(a["high"], a["low"], a["close"], 14))),
    ("adxr", {"period": 14}, _one(lambda t, a: t.ADXR(a["high"], a["low"], a["close"], 14))),
    ("dx", {"period": 14}, _one(lambda t, a: t.DX(a["high"], a["low"], a["close"], 14))),
    (
        "dmi",
        {"period": 14},
        lambda t, a: (
            t.PLUS_DI(a["high"], a["low"], a["close"], 14),
            t.MINUS_DI(a["high"], a["low"], a["close"], 14),
        ),
    ),
    ("aroon", {"period": 25}, lambda t, a: t.AROON(a["high"], a["low"], 25)[::-1]),
    ("aroonosc", {"period": 25}, _one(lambda t, a: t.AROONOSC(a["high"], a["low"], 25))),
    ("psar", {"accel": 0.02, "maximum": 0.2}, _one(lambda t, a: t.SAR(a["high"], a["low"], 0.02, 0.2))),
    ("trix", {"period": 15}, _one(lambda t, a: t.TRIX(a["close"], 15))),
    ("linreg_slope", {"period": 14}, _one(lambda t, a: t.LINEARREG_SLOPE(a["close"], 14))),
    ("cci", {"period": 20}, _one(lambda t, a: t.CCI(a["high"], a["low"], a["close"], 20))),
    ("rsi", {"period": 14}, _one(lambda t, a: t.RSI(a["close"], 14))),
    (
        "stoch",
        {"k_period": 14, "d_period": 3},
        lambda t, a: t.STOCH(a["high"], a["low"], a["close"], 14, 3, 0, 3, 0),
    ),
    (
        "stochrsi",
        {"period": 14, "k_period": 14, "d_period": 3},
        lambda t, a: t.STOCHRSI(a["close"], 14, 14, 3, 0),
    ),
    ("willr", {"period": 14}, _one(lambda t, a: t.WILLR(a["high"], a["low"], a["close"], 14))),
    ("roc", {"period": 10}, _one(lambda t, a: t.ROC(a["close"], 10))),
    ("mom", {"period": 10}, _one(lambda t, a: t.MOM(a["close"], 10))),
    ("mfi", {"period": 14}, _one(lambda t, a: t.MFI(a["high"], a["low"], a["close"], a["volume"], 14))),
    (
        "ultosc",
        {"short": 7, "medium": 14, "long": 28},
        _one(lambda t, a: t.ULTOSC(a["high"], a["low"], a["close"], 7, 14, 28)),
    ),
    ("ppo", {"fast": 12, "slow": 26}, _one(lambda t, a: t.PPO(a["close"], 12, 26, 1))),
    ("apo", {"fast": 12, "slow": 26}, _one(lambda t, a: t.APO(a["close"], 12, 26, 1))),
    ("cmo", {"period": 14}, _one(lambda t, a: t.CMO(a["close"], 14))),
    ("bop", {}, _one(lambda t, a: t.BOP(a["open"], a["high"], a["low"], a["close"]))),
    ("atr", {"period": 14}, _one(lambda t, a: t.ATR(a["high"], a["low"], a["close"], 14))),
    ("natr", {"period": 14}, _one(lambda t, a: t.NATR(a["high"], a["low"], a["close"], 14))),
    ("trange", {}, _one(lambda t, a: t.TRANGE(a["high"], a["low"], a["close"]))),
    ("stddev", {"period": 20}, _one(lambda t, a: t.STDDEV(a["close"], 20, 1.0))),
    ("bb", {"period": 20, "nbdev": 2.0}, lambda t, a: t.BBANDS(a["close"], 20, 2.0, 2.0, 0)),
    (
        "donchian",
        {"period": 20},
        lambda t, a: (t.MAX(a["high"], 20), t.MIN(a["low"], 20), t.MIDPRICE(a["high"], a["low"], 20)),
    ),
    ("obv", {}, _one(lambda t, a: t.OBV(a["close"], a["volume"]))),
    ("ad", {}, _one(lambda t, a: t.AD(a["high"], a["low"], a["close"], a["volume"]))),
    (
        "adosc",
        {"fast": 3, "slow": 10},
        _one(lambda t, a: t.ADOSC(a["high"], a["low"], a["close"], a["volume"], 3, 10)),
    ),
    ("ret", {"period": 1}, _one(lambda t, a: t.ROCP(a["close"], 1))),
]


def synthetic_bars(start: str, end: str) -> pd.DataFrame:
    from pipelines.data.providers.synthetic import SyntheticProvider
    from pipelines.data.symbols import parse_symbol
    from pipelines.data.timeframes import parse_timeframe

    now = pd.Timestamp(end, tz="UTC")
    provider = SyntheticProvider(SEED, now=lambda: now)
    return provider.fetch(parse_symbol("BTC/USDT"), parse_timeframe("1m"), pd.Timestamp(start, tz="UTC"), now)


def max_rel_diff(ours: Sequence[np.ndarray], ref: Sequence[np.ndarray]) -> float:
    """The largest |ours - ref| / (|ref| + scale) where TA-Lib has a value, ``scale`` being the
    column's largest |ref| (the tests' tolerance, rtol plus rtol times the scale); inf if NaNs differ."""
    worst = 0.0
    for a, b in zip(ours, ref, strict=True):
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return float("inf")
        valid = ~np.isnan(b)
        if valid.any():
            ref_valid = np.abs(b[valid])
            scale = max(1.0, float(ref_valid.max()))
            worst = max(worst, float(np.max(np.abs(a[valid] - b[valid]) / (ref_valid + scale))))
    return worst


def time_pair(ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` of both, alternating, after one warm call each."""
    ours(), theirs()
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for i, fn in enumerate((ours, theirs)):
            gc.collect()
            t0 = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - t0)
    return best[0], best[1]


def bench(bars: pd.DataFrame, repeat: int, only: set[str] | None = None) -> list[dict[str, Any]]:
    import talib

    from pipelines.features import get_indicator, warmup
    from pipelines.features.inputs import BarData

    warmup()
    data = BarData.from_frame(bars)
    arrays = {
        c: np.ascontiguousarray(bars[c].to_numpy(np.float64))
        for c in ("open", "high", "low", "close", "volume")
    }
    rows = []
    for name, params, reference in CASES:
        if only and name not in only:
            continue
        ind = get_indicator(name)
        outputs = ind.compute(data.fresh(), params)
        diff = max_rel_diff(outputs, reference(talib, arrays))
        ours, theirs = time_pair(
            lambda ind=ind, params=params: ind.compute(data.fresh(), params),  # type: ignore[misc]
            lambda reference=reference: reference(talib, arrays),  # type: ignore[misc]
            repeat,
        )
        label = "_".join([name, *(str(v).removesuffix(".0") for v in params.values())])
        rows.append(
            {
                "indicator": label,
                "ours_seconds": ours,
                "talib_seconds": theirs,
                "ours_over_talib": ours / theirs,
                "max_rel_diff": diff,
            }
        )
        print(
            f"{label:<24}{ours * 1e3:>10.2f}{theirs * 1e3:>10.2f}{ours / theirs:>10.2f}{diff:>12.1e}",
            flush=True,
        )
    return rows


def bench_default_set(bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    """The whole ``default`` feature set through ``compute_features``: best wall and CPU seconds."""
    from pipelines.features import compute_features, get_feature_set

    fset = get_feature_set("default")
    compute_features(bars.iloc[:5000], fset)
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        compute_features(bars, fset)
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return {
        "columns": len(fset.columns),
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "rows_per_s_wall": len(bars) / wall,
        "rows_per_s_cpu": len(bars) / cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--start", default="2019-01-01")
    parser.add_argument("--end", default="2024-01-01")
    parser.add_argument("--repeat", type=int, default=7, help="best of N, alternating ours and TA-Lib")
    parser.add_argument("--only", nargs="*", help="just these indicators (our names), no default set")
    args = parser.parse_args()
    try:
        import talib  # noqa: F401
    except ImportError:
        sys.exit("TA-Lib is not installed: run through `make bench`, which installs it in .venv-bench")
    sys.path.insert(0, str(HERE.parent))
    from bench_data import pin_to_one_core

    pinned = pin_to_one_core()
    bars = synthetic_bars(args.start, args.end)
    load = os.getloadavg()
    print(f"{len(bars):,} bars, {pinned}, load average {load[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'indicator':<24}{'ours ms':>10}{'talib ms':>10}{'ours/ta':>10}{'max rel':>12}")
    rows = bench(bars, args.repeat, set(args.only) if args.only else None)
    slow = [r["indicator"] for r in rows if r["ours_over_talib"] > 1.5]
    print(f"above 1.5x TA-Lib's time: {', '.join(slow) or 'none'}")
    if args.only:
        return
    fs = bench_default_set(bars, args.repeat)
    print(
        f"default set, {fs['columns']} columns: best wall {fs['wall_seconds']:.3f} s = "
        f"{fs['rows_per_s_wall'] / 1e6:.2f}M rows/s; best CPU {fs['cpu_seconds']:.3f} s = "
        f"{fs['rows_per_s_cpu'] / 1e6:.2f}M rows/s (target >= 2.5M on one core)"
    )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    result = {
        "seed": SEED,
        "bars": len(bars),
        "affinity": pinned,
        "load_before": load,
        "indicators": rows,
        "default_set": fs,
    }
    (out / "bench_indicators.json").write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
