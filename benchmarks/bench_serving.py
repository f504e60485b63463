"""Serving benchmark, run by ``make bench``.

``tradeforge serve`` (one uvicorn worker) answers ``POST /api/v1/predictions/predict`` for a warm
LightGBM champion (synthetic AAPL, daily bars), authenticated with the API key of an enterprise-tier
user (unlimited rate limit, so every request still runs authentication and the limiter). Beside it,
in the same run, ``mlflow models serve`` (also one uvicorn worker) answers the same registered
model's raw predict (``POST /invocations``, one feature row as ``dataframe_split``).

This process is the client. Its load generator is asyncio (uvloop when installed) over raw
keep-alive HTTP/1.1 streams, one connection per concurrent caller: ``httpx.AsyncClient`` adds more
client time per request than the server under test spends, so it only serves as a cross-check at
concurrency 1. The client's own ceiling is measured against a null HTTP server (a canned answer, no
framework) in a separate process. With two or more CPUs the servers run pinned to one CPU and the
client to another, so that neither steals the other's core.

Per server: a warm-up, then concurrency 1 (``--requests`` calls, at most ``--c1-max-seconds``; each
call's latency) and concurrency 32 (``--seconds`` of closed-loop load: requests/s and latency
percentiles), alternating the servers over ``--rounds`` rounds. The best round is reported (lowest
p50 at 1, most requests/s at 32); every round is kept in the JSON. Every answer must be a 200 with a
``signal`` (ours) or ``predictions`` (MLflow). The servers' CPU time per request is read from their
processes (all threads and children).

Seeded (synthetic seed 42, model seed 42). JSON results in benchmarks/results/serving.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _processes import (
    BIN,
    HOST,
    Pins,
    cli,
    cpu_pins,
    cpu_seconds,
    free_port,
    machine,
    server,
    versions,
    wait_http,
)

HERE = Path(__file__).resolve().parent
SEED = 42
MODEL = "lgbm_aapl"
USER, PASSWORD = "bench", "bench-password-42"
SECRET = "bench-serving-secret-key-0123456789abcdef"
PREDICT_PATH = "/api/v1/predictions/predict"
TARGETS = {"c1_p50_ms": 2.0, "c1_p99_ms": 10.0, "c32_rps": 1500.0}
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


# --- the load generator ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    name: str
    port: int
    path: str
    body: bytes
    check: Callable[[bytes], bool]  # is a 200 answer's body a real answer?
    headers: dict[str, str] = field(default_factory=dict)
    pids: tuple[int, ...] = ()  # the server's processes (for CPU time)
    status: int = 200  # the status of a good answer (201 for a route that creates)

    def raw_request(self) -> bytes:
        head = [f"POST {self.path} HTTP/1.1", f"Host: {HOST}:{self.port}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


class Connection:
    """One keep-alive HTTP/1.1 connection; answers must carry a Content-Length (all servers here do)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def call(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        match = _CONTENT_LENGTH.search(head)
        if match is None:
            raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
        return int(head[9:12]), await self.reader.readexactly(int(match.group(1)))

    async def close(self) -> None:
        with suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()


async def _load(
    target: Target, concurrency: int, requests: int | None, seconds: float | None
) -> dict[str, Any]:
    raw = target.raw_request()
    conns = [await Connection.open(target.port) for _ in range(concurrency)]
    latencies: list[int] = []
    bad: list[str] = []
    budget = [requests if requests is not None else sys.maxsize]
    began = time.perf_counter()
    deadline = began + seconds if seconds is not None else float("inf")

    async def caller(i: int) -> None:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            t0 = time.perf_counter_ns()
            try:
                status, body = await conns[i].call(raw)
            except (OSError, EOFError, RuntimeError, asyncio.IncompleteReadError) as exc:
                bad.append(f"connection failed: {exc!r}")  # a failed call counts, on a new connection
                await conns[i].close()
                conns[i] = await Connection.open(target.port)
                continue
            latencies.append(time.perf_counter_ns() - t0)
            if status != target.status or not target.check(body):
                bad.append(f"{status}: {body[:300]!r}")

    try:
        await asyncio.gather(*(caller(i) for i in range(concurrency)))
    finally:
        elapsed = time.perf_counter() - began
        for c in conns:
            await c.close()
    ms = np.asarray(latencies, dtype=np.float64) / 1e6 if latencies else np.array([np.nan])
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(ms.mean()),
        "failed": len(bad),
        "bad_answers": bad[:5],
    }


async def _httpx_load(target: Target, requests: int) -> dict[str, Any]:
    """Concurrency 1 through ``httpx.AsyncClient`` (the cross-check of the raw client's latencies)."""
    url = f"http://{HOST}:{target.port}{target.path}"
    headers = {"Content-Type": "application/json", **target.headers}
    latencies, bad = [], []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(requests):
            t0 = time.perf_counter_ns()
            r = await client.post(url, content=target.body, headers=headers)
            latencies.append(time.perf_counter_ns() - t0)
            if r.status_code != 200 or not target.check(r.content):
                bad.append(f"{r.status_code}: {r.content[:300]!r}")
    ms = np.asarray(latencies, dtype=np.float64) / 1e6
    return {
        "requests": len(ms),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "bad_answers": bad[:5],
    }


def _run_async(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def measure(
    target: Target, concurrency: int, *, requests: int | None = None, seconds: float | None = None
) -> dict[str, Any]:
    cpu0 = cpu_seconds(*target.pids)
    result: dict[str, Any] = _run_async(_load(target, concurrency, requests, seconds))
    if target.pids:
        cpu = cpu_seconds(*target.pids) - cpu0
        result["server_cpu_seconds"] = cpu
        result["server_cpu_ms_per_request"] = cpu * 1e3 / max(1, result["requests"])
    result["loadavg_1m"] = os.getloadavg()[0]
    return result


# --- the null server (the client's ceiling) -------------------------------------------------------
def _null_server(port: int, ready: Any) -> None:
    """A canned 200 for every POST, with no framework: what the client alone can drive."""
    body = json.dumps({"signal": 0.5, "recommendation": "HOLD", "pad": "x" * 560}).encode()
    answer = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport, self.buffer = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                match = _CONTENT_LENGTH.search(self.buffer[: end + 2])
                size = end + 4 + (int(match.group(1)) if match else 0)
                if len(self.buffer) < size:
                    return
                self.buffer = self.buffer[size:]
                self.transport.write(answer)

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, HOST, port)
        ready.set()
        async with server:
            await server.serve_forever()

    _run_async(serve())


# --- processes ------------------------------------------------------------------------------------
def api_key(port: int, name: str = "bench") -> str:
    base = f"http://{HOST}:{port}"
    login = httpx.post(f"{base}/auth/login", json={"username": USER, "password": PASSWORD}, timeout=30)
    login.raise_for_status()
    token = login.json()["access_token"]
    made = httpx.post(
        f"{base}/api/v1/auth/keys",
        json={"name": name},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    made.raise_for_status()
    key: str = made.json()["key"]
    return key


def feature_row(tracking_uri: str, dst: Path) -> dict[str, Any]:
    """One row of the champion's own input example, as MLflow's ``dataframe_split``."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    folder = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{MODEL}@champion", dst_path=str(dst))
    )
    split = json.loads((folder / "serving_input_example.json").read_text())["dataframe_split"]
    return {"dataframe_split": {"columns": split["columns"], "data": split["data"][-1:]}}


# --- the run --------------------------------------------------------------------------------------
def _has(key: str) -> Callable[[bytes], bool]:
    return lambda body: key in json.loads(body)


def bench(targets: list[Target], args: argparse.Namespace) -> dict[str, Any]:
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {t.name: {"c1": [], "c32": []} for t in targets}
    for t in targets:  # warm-up: model loaded, features cached, code paths warm
        measure(t, 1, requests=args.warmup)
        measure(t, args.concurrency, seconds=1.0)
    for r in range(args.rounds):
        for t in targets:
            rounds[t.name]["c1"].append(measure(t, 1, requests=args.requests, seconds=args.c1_max_seconds))
            rounds[t.name]["c32"].append(measure(t, args.concurrency, seconds=args.seconds))
            a, b = rounds[t.name]["c1"][-1], rounds[t.name]["c32"][-1]
            print(
                f"  round {r + 1} {t.name:<21} c=1 p50 {a['p50_ms']:6.2f} ms p99 {a['p99_ms']:6.2f} ms | "
                f"c={args.concurrency} {b['rps']:6.0f} req/s p50 {b['p50_ms']:6.2f} ms "
                f"p99 {b['p99_ms']:6.2f} ms | load {b['loadavg_1m']:.2f}",
                flush=True,
            )
    out: dict[str, Any] = {}
    for name, phases in rounds.items():
        out[name] = {
            "c1": min(phases["c1"], key=lambda p: p["p50_ms"]),
            "c32": max(phases["c32"], key=lambda p: p["rps"]),
            "c1_p50_ms_median": statistics.median(p["p50_ms"] for p in phases["c1"]),
            "c32_rps_median": statistics.median(p["rps"] for p in phases["c32"]),
            "rounds": phases,
        }
    return out


def report(results: dict[str, Any], concurrency: int) -> None:
    s = results["servers"]
    print(f"\n{'server':<28} {'conc.':>5} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'server CPU ms/req':>18}")
    for name in ("tradeforge", "mlflow", "null (client ceiling)"):
        for phase, conc in (("c1", 1), ("c32", concurrency)):
            p = s[name][phase]
            cpu = p.get("server_cpu_ms_per_request")
            print(
                f"{name:<28} {conc:>5} {p['p50_ms']:8.3f} {p['p99_ms']:8.3f} {p['rps']:8.0f} "
                f"{'' if cpu is None else f'{cpu:18.3f}'}"
            )
    by_round = [f"{p['rps']:.0f}" for p in s["tradeforge"]["rounds"]["c32"]]
    print(
        f"(best of {len(by_round)} rounds; tradeforge c={concurrency} req/s by round: {', '.join(by_round)})"
    )
    hx = results["httpx_cross_check_c1"]
    print(f"{'tradeforge, httpx client':<28} {1:>5} {hx['p50_ms']:8.3f} {hx['p99_ms']:8.3f}")
    r = results["ratios"]
    print(
        f"\nours vs mlflow: c=1 p50 {r['c1_p50_mlflow_over_ours']:.2f}x faster, "
        f"p99 {r['c1_p99_mlflow_over_ours']:.2f}x faster; c={concurrency} "
        f"{r['c32_rps_ours_over_mlflow']:.2f}x the requests/s, p99 {r['c32_p99_mlflow_over_ours']:.2f}x lower"
    )
    for key, ok in results["targets_met"].items():
        print(f"  target {key} {TARGETS[key]:g}: {'met' if ok else 'NOT met'}")


def environment(root: Path) -> dict[str, str]:
    """This benchmark's own home, seed and secret; TRADEFORGE_*/MLFLOW_* of the caller are dropped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEFORGE_", "MLFLOW_"))}
    return env | {
        "TRADEFORGE_HOME": str(root / "home"),
        "TRADEFORGE_HISTORY_START": "2021-01-01",
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_SYNTHETIC_SEED": str(SEED),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'home' / 'mlflow' / 'mlflow.db'}",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # mlflow execs this venv's uvicorn
        "TQDM_DISABLE": "1",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def prepare(env: dict[str, str]) -> dict[str, Any]:
    """Train and register the champion, create the enterprise-tier user (both through the CLI)."""
    t0 = time.perf_counter()
    model = ["--model-type", "lightgbm", "--model-name", MODEL, "--symbol", "AAPL", "--timeframe", "1d"]
    trained = cli(env, "train", *model, "--source", "synthetic", "--params", json.dumps({"seed": SEED}))
    seconds = time.perf_counter() - t0
    cli(env, "users", "create", USER, "--password", PASSWORD, "--tier", "enterprise")
    return {
        "train_seconds": seconds,
        "model_version": trained["version"],
        "features": trained["features_used"],
    }


def run(root: Path, env: dict[str, str], args: argparse.Namespace, pins: Pins) -> dict[str, Any]:
    """Start both servers and the null server, measure, and end them all (failure included)."""
    server_cpus = pins[0] if pins else None
    ports = [free_port() for _ in range(3)]
    if pins:
        os.sched_setaffinity(0, pins[1])
    ours_cmd = [str(BIN / "tradeforge"), *f"serve --port {ports[0]} --workers 1 --log-level warning".split()]
    mlflow_cmd = [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}@champion"]
    mlflow_cmd += f"--env-manager local --port {ports[1]} --workers 1".split()
    mp = multiprocessing.get_context("spawn")
    ready = mp.Event()
    null = mp.Process(target=_null_server, args=(ports[2], ready), daemon=True)
    with (
        server(ours_cmd, env, root / "serve.log", server_cpus) as ours_proc,
        server(mlflow_cmd, env, root / "mlflow.log", server_cpus) as mlflow_proc,
    ):
        wait_http(f"http://{HOST}:{ports[0]}/health", ours_proc, root / "serve.log")
        wait_http(f"http://{HOST}:{ports[1]}/ping", mlflow_proc, root / "mlflow.log")
        null.start()
        try:
            if server_cpus and null.pid is not None:
                os.sched_setaffinity(null.pid, server_cpus)
            ready.wait(30)
            body = json.dumps({"model_name": MODEL, "symbol": "AAPL"}).encode()
            headers = {"X-API-Key": api_key(ports[0])}
            ours = Target(
                "tradeforge", ports[0], PREDICT_PATH, body, _has("signal"), headers, (ours_proc.pid,)
            )
            row = json.dumps(feature_row(env["MLFLOW_TRACKING_URI"], root / "model")).encode()
            peer = Target(
                "mlflow", ports[1], "/invocations", row, _has("predictions"), pids=(mlflow_proc.pid,)
            )
            nul = Target("null (client ceiling)", ports[2], "/", b"{}", _has("signal"), pids=(null.pid or 0,))
            print(f"servers up; pinned (servers, client): {pins}" if pins else "servers up; not pinned")
            out = {"servers": bench([ours, peer, nul], args)}
            out["httpx_cross_check_c1"] = _run_async(_httpx_load(ours, min(args.requests, 1000)))
        finally:
            null.terminate()
            null.join(5)
    out["server_logs_tail"] = {  # without MLflow's per-request access-log lines
        n: "\n".join(x for x in (root / f"{n}.log").read_text().splitlines() if "POST /invocations" not in x)[
            -2000:
        ]
        for n in ("serve", "mlflow")
    }
    return out


def summarize(results: dict[str, Any]) -> dict[str, list[str]]:
    """Ratios and targets into ``results``; returns the bad answers seen, by server and phase."""
    ours, ml = results["servers"]["tradeforge"], results["servers"]["mlflow"]
    results["ratios"] = {
        "c1_p50_mlflow_over_ours": ml["c1"]["p50_ms"] / ours["c1"]["p50_ms"],
        "c1_p99_mlflow_over_ours": ml["c1"]["p99_ms"] / ours["c1"]["p99_ms"],
        "c32_rps_ours_over_mlflow": ours["c32"]["rps"] / ml["c32"]["rps"],
        "c32_p99_mlflow_over_ours": ml["c32"]["p99_ms"] / ours["c32"]["p99_ms"],
    }
    results["targets_met"] = {
        "c1_p50_ms": ours["c1"]["p50_ms"] <= TARGETS["c1_p50_ms"],
        "c1_p99_ms": ours["c1"]["p99_ms"] <= TARGETS["c1_p99_ms"],
        "c32_rps": ours["c32"]["rps"] >= TARGETS["c32_rps"],
    }
    bad = {
        f"{name} {phase} round {i + 1}": p["bad_answers"]
        for name, s in results["servers"].items()
        for phase, rounds in s["rounds"].items()
        for i, p in enumerate(rounds)
        if p["bad_answers"]
    }
    if results["httpx_cross_check_c1"]["bad_answers"]:
        bad["tradeforge httpx"] = results["httpx_cross_check_c1"]["bad_answers"]
    results["bad_answers"] = bad
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description="Serving benchmark")
    parser.add_argument("--requests", type=int, default=2000, help="requests at concurrency 1, per round")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load at concurrency 32")
    parser.add_argument("--c1-max-seconds", type=float, default=20.0, help="cap of a concurrency-1 round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and client to CPUs")
    args = parser.parse_args()
    if min(args.rounds, args.requests, args.concurrency) < 1 or args.seconds <= 0:
        parser.error("--rounds, --requests, --concurrency and --seconds must be positive")

    pins = cpu_pins(args.no_pin)
    results: dict[str, Any] = {
        "seed": SEED,
        "model_seed": SEED,
        "python": platform.python_version(),
        "machine": machine(pins, "servers"),
        "versions": versions("litestar", "uvicorn", "uvloop", "httptools", "mlflow", "lightgbm", "httpx"),
        "setup": {
            "model": f"{MODEL}: lightgbm, synthetic AAPL 1d since 2021-01-01, champion",
            "workers": 1,
            "rate_limiter": "in-memory (no TRADEFORGE_REDIS_URL); enterprise tier: unlimited",
            "auth": "X-API-Key",
            "client": "asyncio + uvloop, raw keep-alive HTTP/1.1 streams, one connection per caller",
        },
        "params": vars(args),
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-serving-") as tmp:
        root = Path(tmp)
        env = environment(root)
        results["setup"] |= prepare(env)
        results |= run(root, env, args, pins)
    results["machine"]["loadavg_after"] = os.getloadavg()
    bad = summarize(results)
    report(results, args.concurrency)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "serving.json").write_text(json.dumps(results, indent=2, default=float))
    load = results["machine"]
    print(
        f"seed {SEED}; load average {load['loadavg_before'][0]:.2f} before, {load['loadavg_after'][0]:.2f} "
        f"after; results in {out / 'serving.json'}"
    )
    if bad:
        raise SystemExit(f"some answers were not 200 with a prediction: {json.dumps(bad)[:2000]}")


if __name__ == "__main__":
    main()
