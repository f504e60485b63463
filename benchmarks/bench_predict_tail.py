"""Where the slow predictions of one worker at concurrency 32 come from: a timeline, in one run.

``tradeforge serve`` (one uvicorn worker, pinned to one CPU, the client on the other) runs under
``_timeline.py``, which records every garbage collection, every batch insert of the prediction and
request log writer, and each request's time inside the app. The client (bench_serving.py's raw
keep-alive load generator) records when each request left and how long its answer took, on the same
clock. The request is bench_serving.py's: ``POST /api/v1/predictions/predict`` for a warm LightGBM
champion with the ``X-API-Key`` of an enterprise-tier user, every prediction logged.

For the requests slower than the run's p99 (and for all of them, the base rate), the share whose
flight overlapped a log insert, a collection of each generation, or neither. ``--code DIR`` serves an
earlier checkout beside this one (a ``git archive``), measured in alternating rounds: a before/after
in one run. Seeded like bench_serving.py. JSON in benchmarks/results/predict_tail.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _processes import BIN, HOST, cpu_pins, free_port, machine, server, versions, wait_http
from bench_serving import (
    MODEL,
    PREDICT_PATH,
    Connection,
    Target,
    _has,
    _run_async,
    api_key,
    environment,
    prepare,
)

HERE = Path(__file__).resolve().parent
_SWITCH_INTERVAL = 0.0005  # the candidate the stall test sets against the default


async def _load(target: Target, concurrency: int, seconds: float) -> np.ndarray:
    """Closed-loop load; rows of (sent at, latency), seconds on ``time.perf_counter``."""
    raw = target.raw_request()
    conns = [await Connection.open(target.port) for _ in range(concurrency)]
    rows: list[tuple[float, float]] = []
    deadline = time.perf_counter() + seconds

    async def caller(i: int) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, body = await conns[i].call(raw)
            rows.append((t0, time.perf_counter() - t0))
            if status != target.status or not target.check(body):
                raise RuntimeError(f"bad answer {status}: {body[:300]!r}")

    try:
        await asyncio.gather(*(caller(i) for i in range(concurrency)))
    finally:
        for c in conns:
            await c.close()
    return np.asarray(rows, dtype=np.float64)


def _overlaps(starts: np.ndarray, ends: np.ndarray, spans: list[list[float]]) -> np.ndarray:
    """For each [start, end], whether it overlaps one of ``spans`` ([t0, t1, ...])."""
    if not spans:
        return np.zeros(len(starts), dtype=bool)
    s = np.asarray(spans, dtype=np.float64)
    order = np.argsort(s[:, 0])
    t0, t1 = s[order, 0], np.maximum.accumulate(s[order, 1])
    i = np.searchsorted(t0, ends, side="right") - 1  # the last span starting before the request ended
    return (i >= 0) & (t1[np.maximum(i, 0)] >= starts)


def analyse(rows: np.ndarray, timeline: dict[str, Any], seconds: float) -> dict[str, Any]:
    starts, lat = rows[:, 0], rows[:, 1]
    ends = starts + lat
    p99 = float(np.percentile(lat, 99))
    slow = lat > p99
    causes = {"log insert": _overlaps(starts, ends, timeline["flush"])}
    for gen in (0, 1, 2):
        causes[f"gc gen {gen}"] = _overlaps(starts, ends, [g for g in timeline["gc"] if g[2] == gen])
    causes["none of these"] = ~np.logical_or.reduce(list(causes.values()))
    flush = np.asarray(timeline["flush"] or [[0, 0, 0]], dtype=np.float64)
    gcs = np.asarray(timeline["gc"] or [[0, 0, 0]], dtype=np.float64)
    served = np.asarray(timeline["requests"] or [[0, 0]], dtype=np.float64)
    in_app = np.asarray(timeline["requests"] or [[0, 0]], dtype=np.float64)
    during = _overlaps(in_app[:, 0] - in_app[:, 1], in_app[:, 0], timeline["flush"])

    def tail(x: np.ndarray) -> float | None:
        return float(np.percentile(x, 99)) * 1e3 if len(x) else None

    return {
        "server_time_in_app_p99_ms_during_inserts": tail(in_app[during, 1]),
        "server_time_in_app_p99_ms_otherwise": tail(in_app[~during, 1]),
        "requests": len(lat),
        "rps": len(lat) / seconds,
        "p50_ms": float(np.percentile(lat, 50)) * 1e3,
        "p99_ms": p99 * 1e3,
        "max_ms": float(lat.max()) * 1e3,
        "server_time_in_app_p50_ms": float(np.percentile(served[:, 1], 50)) * 1e3,
        "server_time_in_app_p99_ms": float(np.percentile(served[:, 1], 99)) * 1e3,
        "share_overlapping": {
            k: {"slowest_1pct": float(v[slow].mean()), "all": float(v.mean())} for k, v in causes.items()
        },
        "log_inserts": {
            "count": len(timeline["flush"]),
            "rows_mean": float(flush[:, 2].mean()),
            "ms_mean": float((flush[:, 1] - flush[:, 0]).mean()) * 1e3,
            "ms_max": float((flush[:, 1] - flush[:, 0]).max()) * 1e3,
            "busy_share": float((flush[:, 1] - flush[:, 0]).sum()) / seconds,
        },
        "gc": {
            f"gen {g}": {
                "count": int((gcs[:, 2] == g).sum()),
                "ms_max": float(((gcs[:, 1] - gcs[:, 0]) * (gcs[:, 2] == g)).max()) * 1e3,
            }
            for g in (0, 1, 2)
        },
    }


def sample(target: Target, pid: int, out: Path, seconds: float) -> dict[str, Any]:
    os.kill(pid, signal.SIGUSR1)
    time.sleep(0.1)
    rows = _run_async(_load(target, 32, seconds))
    os.kill(pid, signal.SIGUSR2)
    for _ in range(100):
        if out.exists() and out.stat().st_size:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    timeline = json.loads(out.read_text())
    out.unlink()
    result = analyse(rows, timeline, seconds)
    result["loadavg_1m"] = os.getloadavg()[0]
    return result


def stalls(root: Path, rounds: int, rows: int) -> dict[str, Any]:
    """The event loop's longest waits while the log writer inserts ``rows`` prediction and request
    log rows, at the interpreter's default switch interval (5 ms) and at 0.5 ms (a candidate fix),
    alternating in one process pinned to one CPU: the mechanism of the slow requests, without HTTP."""
    from pipelines.db import BufferedLogWriter, PredictionLog, RequestLog, open_database
    from pipelines.db.types import utc_now
    from pipelines.settings import Settings

    database = open_database(Settings(home=root / "stall-home"))
    prediction = {"endpoint": "/api/v1/predictions/predict", "model_name": MODEL, "model_version": "1"}
    prediction |= {"symbol": "AAPL", "timeframe": "1d", "signal": 0.5, "confidence": 0.5, "value": 1.0}
    prediction |= {"predicted_return": 0.001, "direction": "up", "recommendation": "HOLD"}
    prediction |= {"current_price": 100.0, "latency_ms": 0.2, "request_id": "r", "user_id": None}
    prediction |= {"data_version": "x" * 16, "features": {f"f{i}": float(i) for i in range(15)}}
    request = {"user_id": None, "method": "POST", "route": PREDICT_PATH, "status_code": 200}
    request |= {"duration_ms": 0.2, "request_id": "r"}

    async def lags(writer: BufferedLogWriter) -> list[float]:
        for _ in range(rows // 2):
            writer.submit((PredictionLog, dict(prediction, created_at=utc_now())))
            writer.submit((RequestLog, dict(request, created_at=utc_now())))
        waits: list[float] = []
        flushed = asyncio.get_running_loop().run_in_executor(None, writer.flush)
        last = time.perf_counter()
        while not flushed.done():
            await asyncio.sleep(0)
            now = time.perf_counter()
            waits.append(now - last)
            last = now
        return waits

    out: dict[str, list[dict[str, float]]] = {"5 ms (default)": [], "0.5 ms": []}
    default = sys.getswitchinterval()
    with BufferedLogWriter(database, batch_size=500, interval=3600) as writer:
        for _ in range(rounds):
            for name, interval in (("5 ms (default)", default), ("0.5 ms", _SWITCH_INTERVAL)):
                sys.setswitchinterval(interval)
                began = time.perf_counter()
                w = np.asarray(_run_async(lags(writer))) * 1e3
                out[name].append(
                    {
                        "insert_ms": (time.perf_counter() - began) * 1e3,
                        "loop_turns": len(w),
                        "wait_p99_ms": float(np.percentile(w, 99)),
                        "wait_max_ms": float(w.max()),
                        "waits_over_2ms_total_ms": float(w[w > 2].sum()),
                    }
                )
                print(f"  {name:>18}: {out[name][-1]}", flush=True)
        if writer.stats.failed or writer.stats.dropped:
            raise RuntimeError(f"the log writer did not write every row: {writer.stats}")
    sys.setswitchinterval(default)
    database.close()
    return out


def run(root: Path, env: dict[str, str], codes: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    pins = cpu_pins(args.no_pin)
    cpus = pins[0] if pins else None
    if pins:
        os.sched_setaffinity(0, pins[1])
    out: dict[str, Any] = {"machine": machine(pins, "servers"), "rounds": []}
    procs: dict[str, Any] = {}
    targets: dict[str, Target] = {}
    from contextlib import ExitStack

    with ExitStack() as stack:
        for name, code in codes.items():
            port = free_port()
            cmd = [str(BIN / "python"), str(HERE / "_timeline.py"), "serve", "--port", str(port)]
            cmd += ["--workers", "1", "--log-level", "warning"]
            server_env = env | {"PYTHONPATH": code, "TRADEFORGE_TIMELINE_OUT": str(root / f"{name}.json")}
            proc = stack.enter_context(server(cmd, server_env, root / f"{name}.log", cpus))
            wait_http(f"http://{HOST}:{port}/health/live", proc, root / f"{name}.log")
            body = json.dumps({"model_name": MODEL, "symbol": "AAPL"}).encode()
            key = {"X-API-Key": api_key(port, f"tail-{name}-{time.time_ns()}")}
            targets[name] = Target(name, port, PREDICT_PATH, body, _has("signal"), key, (proc.pid,))
            procs[name] = proc
        for t in targets.values():  # warm-up
            _run_async(_load(t, 32, 2.0))
        for r in range(args.rounds):
            row = {}
            for name, t in targets.items():
                row[name] = sample(t, procs[name].pid, root / f"{name}.json", args.seconds)
                s = row[name]
                print(
                    f"  round {r + 1} {name:>6}: {s['rps']:6.0f} req/s p50 {s['p50_ms']:.2f} p99 "
                    f"{s['p99_ms']:.2f} ms | slowest 1% overlapping a log insert "
                    f"{s['share_overlapping']['log insert']['slowest_1pct']:.0%} (all "
                    f"{s['share_overlapping']['log insert']['all']:.0%}), gc gen 2 "
                    f"{s['share_overlapping']['gc gen 2']['slowest_1pct']:.0%} | load {s['loadavg_1m']:.2f}",
                    flush=True,
                )
            out["rounds"].append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="The tail latency of predictions against a timeline")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", help="also serve this checkout's code ('before'), alternating rounds")
    parser.add_argument("--home", help="reuse a prepared benchmark home (kept); default: a temp one")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and client to CPUs")
    parser.add_argument("--stalls", type=int, default=5, help="rounds of the event-loop stall test (0: none)")
    parser.add_argument("--stalls-only", action="store_true", help="only the event-loop stall test")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "seed": 42,
        "versions": versions("litestar", "uvicorn", "sqlalchemy", "lightgbm"),
        "params": vars(args),
    }
    codes = {"after": str(HERE.parent)}
    if args.code:
        codes = {"before": str(Path(args.code).resolve()), **codes}
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-tail-") as tmp:
        if args.stalls:
            pins = cpu_pins(args.no_pin)
            if pins:
                os.sched_setaffinity(0, pins[0])
            results["stalls"] = stalls(Path(tmp), args.stalls, 2500)
        if args.stalls_only:
            print(json.dumps(results["stalls"], indent=2))
            return
        root = Path(args.home) if args.home else Path(tmp)
        env = environment(root)
        if not (root / "home" / "mlflow").exists():
            results["setup"] = prepare(env | {"PYTHONPATH": str(HERE.parent)})
        results |= run(Path(tmp), env, codes, args)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "predict_tail.json").write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps(results["rounds"][-1], indent=2, default=float))


if __name__ == "__main__":
    sys.path[:0] = [str(HERE), str(HERE.parent)]  # this checkout, not the installed one
    main()
