"""Probe latency while a maximal backtest runs, run by ``make bench``.

``tradeforge serve`` (one uvicorn worker) answers ``GET /health`` one call at a time while, from
another thread, the largest backtest the default limits allow runs synchronously: ``sma_cross`` on 1m
bars of a crypto symbol over as many days as ``max_bars_per_request`` (1,000,000 bars, warm-up
included) allows, ingested on demand from the synthetic source on its first run. The backtest runs
``--rounds`` times (the first one ingests, the later ones read the store); every probe's latency is
kept. Reported: the backtest's seconds per round and the probes' p50, p99 and max over all rounds.
The probe must keep answering: the backtest runs in a worker thread and its answer is downsampled to
``max_response_points``, so nothing long holds the event loop.

Seeded (synthetic seed 42). JSON results in benchmarks/results/probe_under_backtest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _processes import BIN, HOST, cli, free_port, machine, server, versions, wait_http

HERE = Path(__file__).resolve().parent
SEED = 42
USER, PASSWORD = "bench", "bench-password-42"
SECRET = "bench-probe-secret-key-0123456789abcdef"
MAX_BARS = 1_000_000
TARGETS = {"health_p99_ms": 50.0}


def _body() -> dict[str, Any]:
    """The largest allowed 1m crypto backtest: the range holds the bar limit minus the warm-up."""
    end = dt.date(2025, 6, 1)
    days = (MAX_BARS - 400) // 1440
    return {
        "symbol": "BTC/USDT",
        "strategy": "sma_cross",
        "params": {"fast": 10, "slow": 30},
        "timeframe": "1m",
        "start_date": str(end - dt.timedelta(days=days)),
        "end_date": str(end),
    }


def _round(http: httpx.Client, headers: dict[str, str], gap: float) -> tuple[float, list[float], int]:
    """One backtest (on its own connection), probed until it answers: (its seconds, probe latencies
    in ms, its bars)."""
    answer: dict[str, Any] = {}

    def backtest() -> None:
        began = time.perf_counter()
        with httpx.Client(base_url=http.base_url, timeout=600) as own:
            response = own.post("/api/v1/backtest/run", json=_body(), headers=headers)
        answer["seconds"], answer["response"] = time.perf_counter() - began, response

    worker = threading.Thread(target=backtest)
    worker.start()
    latencies = []
    while worker.is_alive():
        began = time.perf_counter()
        probe = http.get("/health")
        if probe.status_code != 200:
            raise SystemExit(f"GET /health answered {probe.status_code} during the backtest: {probe.text}")
        latencies.append((time.perf_counter() - began) * 1000)
        time.sleep(gap)
    worker.join()
    response = answer["response"]
    if response.status_code != 200:
        raise SystemExit(f"the backtest answered {response.status_code}: {response.text[:2000]}")
    return float(answer["seconds"]), latencies, int(response.json()["num_bars"])


def run(root: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    cmd = [str(BIN / "tradeforge"), *f"serve --port {port} --workers 1 --log-level warning".split()]
    with server(cmd, env, root / "serve.log", None) as proc:
        wait_http(f"http://{HOST}:{port}/health", proc, root / "serve.log")
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as http:
            login = http.post("/auth/login", json={"username": USER, "password": PASSWORD})
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            rounds = [_round(http, headers, args.gap) for _ in range(args.rounds)]
    probes = np.asarray([ms for _, lat, _ in rounds for ms in lat])
    return {
        "backtest_seconds": [round(s, 3) for s, _, _ in rounds],
        "num_bars": rounds[0][2],
        "probes": int(probes.size),
        "health_ms": {
            "p50": float(np.percentile(probes, 50)),
            "p99": float(np.percentile(probes, 99)),
            "max": float(probes.max()),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Probe latency while a maximal backtest runs")
    parser.add_argument("--rounds", type=int, default=3, help="backtests (the first ingests its bars)")
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between two probes")
    args = parser.parse_args()
    if args.rounds < 1 or args.gap < 0:
        parser.error("--rounds must be positive and --gap not negative")
    results: dict[str, Any] = {
        "seed": SEED,
        "python": platform.python_version(),
        "machine": machine(None),
        "versions": versions("litestar", "uvicorn", "numpy", "pandas"),
        "params": vars(args) | {"max_bars_per_request": MAX_BARS, "request": _body()},
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-probe-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "TRADEFORGE_HOME": str(root / "home"),
            "TRADEFORGE_SECRET_KEY": SECRET,
            "TRADEFORGE_SYNTHETIC_SEED": str(SEED),
            "TRADEFORGE_MAX_BARS_PER_REQUEST": str(MAX_BARS),
            # Anonymous probes count against the free tier's hourly limit wherever probes are not exempt.
            "TRADEFORGE_RATE_LIMITS": json.dumps({"free": None, "pro": None, "enterprise": None}),
        }
        cli(env, "users", "create", USER, "--password", PASSWORD, "--tier", "enterprise")
        results |= run(root, env, args)
    results["machine"]["loadavg_after"] = os.getloadavg()
    health = results["health_ms"]
    results["targets_met"] = {"health_p99_ms": health["p99"] <= TARGETS["health_p99_ms"]}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "probe_under_backtest.json").write_text(json.dumps(results, indent=2, default=float))
    print(
        f"backtest of {results['num_bars']:,} 1m bars: {results['backtest_seconds']} s per round; "
        f"GET /health over {results['probes']} probes meanwhile: p50 {health['p50']:.1f} ms, "
        f"p99 {health['p99']:.1f} ms (target <= {TARGETS['health_p99_ms']:.0f}), max {health['max']:.1f} ms"
    )


if __name__ == "__main__":
    main()
