"""Probe benchmark, run by ``make bench``.

``tradeforge serve`` (one uvicorn worker, fresh temp home, no Redis) answers the liveness probe
``GET /health/live`` and the health check ``GET /health`` (backing-service checks cached for a few
seconds, ``health_cache_seconds``) at concurrency 32 (closed loop over keep-alive connections,
``--seconds`` per round, best of ``--rounds``): requests/s, p50, p99. The peer, in the same run and
served the same way, is a plain Litestar app with one trivial route (``_plain_litestar.py``): the
ceiling of any Litestar route here; the ratio ours/peer says what the platform's request pipeline
(request id, probe bypass of auth and limits, Prometheus) costs.

Then the largest backtest the API allows runs in another connection: ``sma_cross`` on synthetic 1m
bars of a crypto symbol never fetched before (so the bars are generated and stored too), over
``--backtest-start`` .. ``--backtest-end`` (default: the longest range ``max_bars_per_request``,
1,000,000 bars with the indicators' warm-up, allows: 694 days of 1m bars). While it runs,
``/health`` is called in a closed loop at concurrency 1; its p50, p99 and max are reported.

The client is bench_serving.py's load generator (asyncio + uvloop, raw HTTP/1.1 streams); with two
or more CPUs the servers are pinned to one CPU and the client to another. JSON results in
benchmarks/results/health.json. Goals: >= 5,000 requests/s on /health/live, p99 of /health <= 50 ms
during the maximal backtest.
"""

from __future__ import annotations

import argparse
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
from _processes import BIN, HOST, cli, cpu_pins, free_port, machine, server, versions, wait_http
from bench_serving import Connection, Target, _run_async, measure

HERE = Path(__file__).resolve().parent
SEED = 42
SECRET = "bench-health-secret-key-0123456789abcdef"
USER, PASSWORD = "benchhealth", "bench-health-password-42"
GOALS = {"live_c32_rps": 5000.0, "health_p99_ms_during_backtest": 50.0}
BACKTEST_SYMBOL = "SOL/USDT"


class Get(Target):
    def raw_request(self) -> bytes:
        return f"GET {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n\r\n".encode("latin-1")


def _status(key: str, value: str) -> Any:
    return lambda body: json.loads(body).get(key) == value


def _alive(body: bytes) -> bool:
    return json.loads(body).get("status") == "alive"


def rounds(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    measure(target, args.concurrency, seconds=1.0)  # warm-up
    done = [measure(target, args.concurrency, seconds=args.seconds) for _ in range(args.rounds)]
    best = max(done, key=lambda r: r["rps"])
    by_round = ", ".join(f"{r['rps']:.0f}" for r in done)
    print(
        f"  {target.name:<28} c={args.concurrency} {best['rps']:8.0f} req/s  p50 {best['p50_ms']:7.2f} ms  "
        f"p99 {best['p99_ms']:7.2f} ms  (rounds: {by_round})",
        flush=True,
    )
    return {"best": best, "rounds": done}


def token(port: int) -> str:
    login = httpx.post(
        f"http://{HOST}:{port}/auth/login", json={"username": USER, "password": PASSWORD}, timeout=30
    )
    login.raise_for_status()
    access: str = login.json()["access_token"]
    return access


def during_backtest(port: int, args: argparse.Namespace) -> dict[str, Any]:
    """``/health`` at concurrency 1 while the backtest runs on another connection."""
    body = {
        "symbol": BACKTEST_SYMBOL,
        "strategy": "sma_cross",
        "params": {"fast": 20, "slow": 50},
        "timeframe": "1m",
        "source": "synthetic",
        "start_date": args.backtest_start,
        "end_date": args.backtest_end,
    }
    answer: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token(port)}"}

    def backtest() -> None:
        t0 = time.perf_counter()
        try:
            r = httpx.post(
                f"http://{HOST}:{port}/api/v1/backtest/run", json=body, headers=headers, timeout=3600
            )
            answer.update(
                status=r.status_code, bytes=len(r.content), head=r.content[:300].decode(errors="replace")
            )
        except httpx.HTTPError as exc:
            answer.update(status=None, error=repr(exc))
        answer["seconds"] = time.perf_counter() - t0

    thread = threading.Thread(target=backtest, daemon=True)
    probe = Get("/health during backtest", port, "/health", b"", _status("status", "healthy"))
    thread.start()
    latencies, failed = _run_async(_probe_while(probe, thread))
    thread.join()
    ms = np.asarray(latencies, dtype=np.float64) / 1e6 if latencies else np.array([np.nan])
    health = {
        "requests": len(latencies),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "over_50ms": int((ms > 50).sum()),
        "failed": failed,
    }
    return {"backtest": {"request": body, **answer}, "health": health}


async def _probe_while(probe: Target, busy: threading.Thread) -> tuple[list[int], int]:
    """Closed loop of ``probe`` on one connection while ``busy`` runs: each call's latency (ns)."""
    conn = await Connection.open(probe.port)
    raw, latencies, failed = probe.raw_request(), [], 0
    try:
        while busy.is_alive():
            t0 = time.perf_counter_ns()
            status, body = await conn.call(raw)
            latencies.append(time.perf_counter_ns() - t0)
            failed += status != 200 or not probe.check(body)
    finally:
        await conn.close()
    return latencies, failed


def run(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    pins = cpu_pins(args.no_pin)
    server_cpus = pins[0] if pins else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEFORGE_", "MLFLOW_"))}
    env |= {
        "TRADEFORGE_HOME": str(root / "home"),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_SYNTHETIC_SEED": str(SEED),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(HERE.parent),  # this checkout's code, even beside another editable install
    }
    cli(env, "users", "create", USER, "--password", PASSWORD, "--tier", "enterprise")
    ports = free_port(), free_port()
    if pins:
        os.sched_setaffinity(0, pins[1])
    ours_cmd = [str(BIN / "tradeforge"), *f"serve --port {ports[0]} --workers 1 --log-level warning".split()]
    peer_cmd = [str(BIN / "python"), "-m", "uvicorn", "_plain_litestar:app", "--app-dir", str(HERE)]
    peer_cmd += f"--host {HOST} --port {ports[1]} --workers 1 --log-level warning --no-access-log".split()
    out: dict[str, Any] = {"machine": machine(pins, "servers")}
    with (
        server(ours_cmd, env, root / "serve.log", server_cpus) as ours,
        server(peer_cmd, env, root / "peer.log", server_cpus) as peer,
    ):
        wait_http(f"http://{HOST}:{ports[0]}/health/live", ours, root / "serve.log")
        wait_http(f"http://{HOST}:{ports[1]}/health/live", peer, root / "peer.log")
        print(
            f"servers up; pinned (servers, client): {pins}" if pins else "servers up; not pinned", flush=True
        )
        out["live"] = rounds(
            Get("tradeforge /health/live", ports[0], "/health/live", b"", _alive, pids=(ours.pid,)), args
        )
        out["health"] = rounds(
            Get(
                "tradeforge /health", ports[0], "/health", b"", _status("status", "healthy"), pids=(ours.pid,)
            ),
            args,
        )
        out["peer"] = rounds(
            Get("plain Litestar (ceiling)", ports[1], "/health/live", b"", _alive, pids=(peer.pid,)), args
        )
        if not args.skip_backtest:
            print(
                f"  backtest {args.backtest_start} .. {args.backtest_end} on 1m {BACKTEST_SYMBOL} ...",
                flush=True,
            )
            out["during_backtest"] = during_backtest(ports[0], args)
    out["server_log_tail"] = (root / "serve.log").read_text()[-2000:]
    return out


def report(results: dict[str, Any]) -> None:
    live, health, peer = (results[k]["best"] for k in ("live", "health", "peer"))
    print(
        f"\n/health/live {live['rps']:.0f} req/s = {live['rps'] / peer['rps']:.2f}x the plain Litestar route"
    )
    ratio = health["rps"] / peer["rps"]
    print(f"/health      {health['rps']:.0f} req/s = {ratio:.2f}x the plain Litestar route")
    during = results.get("during_backtest")
    if during:
        b, h = during["backtest"], during["health"]
        if b.get("status") != 200:
            print(f"backtest NOT run to the end: {b.get('status')} {b.get('head') or b.get('error')}")
            print(
                "  (refused by the request limits? pass the longest range they allow: --backtest-start/-end)"
            )
        print(
            f"backtest: status {b.get('status')}, {b['seconds']:.1f} s, {b.get('bytes', 0) / 1e6:.1f} MB; "
            f"/health meanwhile at c=1: {h['requests']} calls, p50 {h['p50_ms']:.2f} ms, "
            f"p99 {h['p99_ms']:.2f} ms, max {h['max_ms']:.1f} ms, {h['over_50ms']} over 50 ms, "
            f"failed {h['failed']}"
        )
    for goal, ok in results["goals_met"].items():
        print(f"  goal {goal} {GOALS[goal]:g}: {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Probe benchmark: /health/live, /health, /health under a backtest"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--backtest-start", default="2022-12-14", help="first day of the 1m backtest (default: the limit)"
    )
    parser.add_argument("--backtest-end", default="2024-11-07", help="exclusive end of the 1m backtest")
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and client to CPUs")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "seed": SEED,
        "python": platform.python_version(),
        "versions": versions("litestar", "uvicorn", "uvloop", "httptools", "msgspec"),
        "params": vars(args),
        "goals": GOALS,
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-health-") as tmp:
        results |= run(Path(tmp), args)
    during = results.get("during_backtest", {})
    worst = during.get("health", {}).get("p99_ms")
    ran = during.get("backtest", {}).get("status") == 200  # a refused backtest proves nothing
    results["goals_met"] = {
        "live_c32_rps": results["live"]["best"]["rps"] >= GOALS["live_c32_rps"],
        "health_p99_ms_during_backtest": ran and worst <= GOALS["health_p99_ms_during_backtest"],
    }
    report(results)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "health.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"seed {SEED}; results in {out / 'health.json'}")


if __name__ == "__main__":
    main()
