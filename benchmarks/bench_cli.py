"""CLI start-up benchmark, run by ``make bench``.

Each command runs as a fresh process (a cold interpreter, as a user types it), ``--runs`` times
after one warm-up run (which fills numba's on-disk cache of compiled kernels and the OS's file
cache); the median and the fastest run are reported, with the median's ratio to ``python -c pass``
(the interpreter's own start-up, the floor of any command), and the median CPU time (user + system),
which other work on the machine disturbs less than the wall-clock time. The home is a temp folder holding ten
years of synthetic daily AAPL bars (2015-2024, 2,516 bars) and one registered model, so
``models list`` and ``data list`` read real rows. The commands run from this checkout
(``PYTHONPATH``), through the installed ``tradeforge`` script when there is one. Results in
benchmarks/results/bench_cli.json. Targets: ``--help``, ``models list`` and ``data list`` under 1 s;
``features`` under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 42
TARGETS = {"--help": 1.0, "models list": 1.0, "data list": 1.0, "features": 1.5}


def _tradeforge() -> list[str]:
    script = Path(sys.executable).with_name("tradeforge")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from pipelines.cli import app; app(prog_name='tradeforge')"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(
        TRADEFORGE_HOME=str(home),
        TRADEFORGE_SYNTHETIC_SEED=str(SEED),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run of ``args``."""
    began, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, _cpu() - cpu


def _prepare(home: Path, env: dict[str, str]) -> None:
    cli = _tradeforge()
    _run([*cli, "ingest", "--symbols", "AAPL", "--start", "2015-01-01", "--end", "2025-01-01", "--json"], env)
    _run([*cli, "features", "--symbol", "AAPL", "--json"], env)
    train = ["train", "--model-type", "simple", "--model-name", "bench_cli", "--symbol", "AAPL", "--json"]
    _run([*cli, *train, "--source", "synthetic", "--start", "2015-01-01", "--end", "2025-01-01"], env)


def measure(runs: int, home: Path) -> dict[str, Any]:
    env = _env(home)
    _prepare(home, env)
    cli = _tradeforge()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [*cli, "--help"],
        "models list": [*cli, "models", "list"],
        "data list": [*cli, "data", "list"],
        "features": [*cli, "features", "--symbol", "AAPL"],
    }
    found: dict[str, Any] = {}
    for name, args in cases.items():
        _run(args, env)  # warm-up: numba's kernel cache, the file cache
        wall, cpu = zip(*(_run(args, env) for _ in range(runs)), strict=True)
        found[name] = {
            "median_s": statistics.median(wall),
            "min_s": min(wall),
            "cpu_median_s": statistics.median(cpu),
            "runs": list(wall),
        }
    floor = found["python -c pass"]["median_s"]
    for name, row in found.items():
        row["ratio_to_python"] = row["median_s"] / floor
        if name in TARGETS:
            row["target_s"] = TARGETS[name]
            row["met"] = row["median_s"] < TARGETS[name]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="cold runs per command (median reported)")
    args = parser.parse_args()
    loadavg = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        results = measure(args.runs, Path(tmp) / "home")
    print(f"{'command':<16}{'median':>9}{'fastest':>9}{'cpu':>8}{'x python':>10}{'target':>10}")
    for name, row in results.items():
        target = f"< {row['target_s']:.1f} s" if "target_s" in row else "-"
        print(
            f"{name:<16}{row['median_s']:>8.2f}s{row['min_s']:>8.2f}s{row['cpu_median_s']:>7.2f}s"
            f"{row['ratio_to_python']:>9.1f}x{target:>10}{'' if row.get('met', True) else '  (missed)'}"
        )
    report = {
        "seed": SEED,
        "runs": args.runs,
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "loadavg_before": loadavg,
            "loadavg_after": os.getloadavg(),
        },
        "commands": results,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_cli.json").write_text(json.dumps(report, indent=2))
    print(f"load average before {loadavg[0]:.1f}, after {os.getloadavg()[0]:.1f}; results in {out}")


if __name__ == "__main__":
    main()
