"""Paper trade benchmark, run by ``make bench``.

``tradeforge serve`` (one uvicorn worker, fresh temp home, SQLite, no Redis) answers
``POST /api/trades``: a market buy of BTC/USDT on the paper broker, authenticated by a bearer token.
Each request settles the user's open trades against the stored bars (none are new here, so nothing
fills), checks the risk rules and the balance, and writes the trade and its order in one
transaction. Two days of 1m bars ending before the run are stored first (seeded random walk).

Figures: p50 and p99 at concurrency 1 (``--requests`` calls), requests/s at concurrency 32
(closed loop over keep-alive connections, ``--seconds``). One user places every order, so the
orders of one ledger are serialised, as they are in production. JSON results in
benchmarks/results/trades.json. Goal: p50 <= 3 ms at concurrency 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from _processes import BIN, HOST, cli, cpu_pins, free_port, machine, server, versions, wait_http
from bench_serving import Target, measure

HERE = Path(__file__).resolve().parent
SEED = 42
SECRET = "bench-trades-secret-key-0123456789abcdef"
USER, PASSWORD = "benchtrader", "bench-trades-password-42"
GOALS = {"c1_p50_ms": 3.0}
BODY = {"symbol": "BTCUSDT", "side": "buy", "amount": "0.00001", "stop_loss": "1", "take_profit": "1000000"}


def store_bars(home: Path) -> None:
    """Two days of seeded 1m BTC/USDT bars ending two minutes ago, where the paper broker reads them."""
    import sys

    sys.path.insert(0, str(HERE.parent))
    from pipelines.data.ingest import open_store
    from pipelines.data.schema import with_labels
    from pipelines.settings import Settings

    end = pd.Timestamp(dt.datetime.now(dt.UTC)).floor("min") - pd.Timedelta(minutes=2)
    stamps = pd.date_range(end=end, periods=2 * 1440, freq="1min", tz="UTC").as_unit("ns")
    rng = np.random.default_rng(SEED)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, stamps.size)))
    frame = pd.DataFrame(
        {"timestamp": stamps, "open": close, "high": close * 1.001, "low": close * 0.999, "close": close}
    )
    frame["volume"] = 1.0
    settings = Settings(home=home)
    open_store(settings).write(with_labels(frame, symbol="BTC/USDT", timeframe="1m", source="synthetic"))


def _created(body: bytes) -> bool:
    return bool(json.loads(body).get("data", {}).get("status") == "pending")


def run(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    pins = cpu_pins(args.no_pin)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEFORGE_", "MLFLOW_"))}
    env |= {
        "TRADEFORGE_HOME": str(root / "home"),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(HERE.parent),
    }
    store_bars(root / "home")
    cli(env, "users", "create", USER, "--password", PASSWORD, "--tier", "enterprise")
    port = free_port()
    if pins:
        os.sched_setaffinity(0, pins[1])
    cmd = [str(BIN / "tradeforge"), *f"serve --port {port} --workers 1 --log-level warning".split()]
    out: dict[str, Any] = {"machine": machine(pins), "request": BODY}
    with server(cmd, env, root / "serve.log", pins[0] if pins else None) as proc:
        wait_http(f"http://{HOST}:{port}/health/live", proc, root / "serve.log")
        login = httpx.post(f"http://{HOST}:{port}/auth/login", json={"username": USER, "password": PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        target = Target(
            "POST /api/trades",
            port,
            "/api/trades",
            json.dumps(BODY).encode(),
            _created,
            headers,
            pids=(proc.pid,),
            status=201,
        )
        measure(target, 1, requests=50)  # warm-up
        out["c1"] = measure(target, 1, requests=args.requests)
        out["c32"] = measure(target, 32, seconds=args.seconds)
    out["server_log_tail"] = (root / "serve.log").read_text()[-2000:]
    return out


def report(results: dict[str, Any]) -> None:
    c1, c32 = results["c1"], results["c32"]
    print(
        f"POST /api/trades  c=1: p50 {c1['p50_ms']:.2f} ms  p99 {c1['p99_ms']:.2f} ms "
        f"({c1['requests']} requests, {c1['failed']} failed)"
    )
    print(
        f"POST /api/trades  c=32: {c32['rps']:.0f} req/s  p50 {c32['p50_ms']:.2f} ms  "
        f"p99 {c32['p99_ms']:.2f} ms "
        f"({c32['requests']} requests, {c32['failed']} failed)"
    )
    verdict = "met" if c1["p50_ms"] <= GOALS["c1_p50_ms"] else "MISSED"
    print(f"goal p50 <= {GOALS['c1_p50_ms']} ms at c=1: {verdict}")
    for name in ("c1", "c32"):
        if results[name]["bad_answers"]:
            print(f"  {name} bad answers: {results[name]['bad_answers'][:2]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="calls at concurrency 1")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the concurrency-32 round")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the client to CPUs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-trades-") as tmp:
        results = run(Path(tmp), args)
    results["versions"] = versions("litestar", "sqlalchemy", "uvicorn")
    results["seed"] = SEED
    report(results)
    target = HERE / "results" / "trades.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
