"""Where a cached prediction's server CPU goes, beside a plain Litestar route, in one run.

Three servers, each one uvicorn worker pinned to the same CPU (the client on another), started the
way ``tradeforge serve`` starts: the plain Litestar app's ``POST /predict`` (``_plain_litestar.py``: a
JSON body in, a small JSON answer out; the ceiling of any Litestar route here), ``tradeforge serve``,
and ``tradeforge serve`` under ``_sampler.py`` (a CPU-time sampler of the worker's Python stacks).
``POST /api/v1/predictions/predict`` is bench_serving.py's request: a warm LightGBM champion,
``X-API-Key`` of an enterprise-tier user (unlimited: the limiter still runs), every prediction
logged. Each round measures requests/s, p50, p99 and server CPU per request at concurrency 32 for
the null route and for ours, then samples ours; rounds alternate the servers.

The split: each sampled stack is charged to the first component (innermost frame first) that one of
``COMPONENTS``' rules names: authentication, rate limit, prediction, logging (the prediction log
and request log rows submitted, plus the log writer thread's CPU), metrics (Prometheus),
serialization (the answer built and encoded), request parsing (the body decoded into its type) and
the rest (uvicorn, Litestar's routing, dependency injection, middleware). The shares are applied
to the unsampled server's CPU per request of the same round.

``--code DIR`` serves another checkout's code (a ``git archive`` of an earlier commit, for a
before/after in one session). Seeded like bench_serving.py. JSON in benchmarks/results/predict_split.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _processes import BIN, HOST, cpu_pins, free_port, machine, server, versions, wait_http
from bench_serving import MODEL, PREDICT_PATH, Target, _has, api_key, environment, measure, prepare

HERE = Path(__file__).resolve().parent
GOALS = {"c32_rps": 5000.0, "c32_p99_ms": 10.0}

# (component, frame prefixes "path:function" or "path"); a stack goes to the first component one of
# whose rules matches a frame, frames read from the innermost out.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("rate limit", ("serving/access.py:rate_limit", "serving/ratelimit.py")),
    ("metrics", ("prometheus_client/",)),
    (
        "logging",
        ("serving/observation.py", "pipelines/db/writer.py", "serving/controllers/predictions.py:_log"),
    ),
    ("serialization", ("serving/responses/", "litestar/response/", "msgspec/", "litestar/serialization/")),
    ("prediction", ("pipelines/prediction/", "pipelines/models/", "lightgbm/", "numpy/")),
    ("prediction", ("serving/controllers/predictions.py:_predict",)),
    ("authentication", ("serving/access.py", "serving/usercache.py", "pipelines/security/")),
    ("authentication", ("serving/providers/wiring.py", "serving/middleware.py:admit")),
    ("request parsing", ("litestar/_kwargs/", "litestar/_signature/", "litestar/connection/")),
]


def component(stack: list[str]) -> str:
    for frame in reversed(stack):
        for name, rules in COMPONENTS:
            if frame.startswith(rules):
                return name
    return "framework (uvicorn, Litestar, middleware)"


def split(profile: dict[str, Any], requests: int) -> dict[str, Any]:
    """CPU shares by component of one sampled run (main thread samples, writer thread by name)."""
    by: dict[str, float] = defaultdict(float)
    top: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)
    for stack, seconds in profile["stacks"]:
        by[component(stack)] += seconds
        if stack:
            top[stack[-1]] += seconds
        for frame in set(stack):
            inclusive[frame] += seconds
    writer = sum(v for k, v in profile["threads"].items() if k.startswith("tradeforge-log"))
    by["logging"] += writer
    total = sum(by.values())
    return {
        "shares": {k: v / total for k, v in sorted(by.items(), key=lambda kv: -kv[1])},
        "sampled_ms_per_request": total * 1e3 / max(1, requests),
        "writer_thread_ms_per_request": writer * 1e3 / max(1, requests),
        "threads_cpu_s": profile["threads"],
        "top_functions_ms_per_request": {
            k: v * 1e3 / max(1, requests) for k, v in sorted(top.items(), key=lambda kv: -kv[1])[:25]
        },
        "inclusive_ms_per_request": {
            k: v * 1e3 / max(1, requests) for k, v in sorted(inclusive.items(), key=lambda kv: -kv[1])[:80]
        },
    }


def sampled(target: Target, out: Path, seconds: float) -> dict[str, Any]:
    pid = target.pids[0]
    os.kill(pid, signal.SIGUSR1)
    time.sleep(0.1)
    result = measure(target, 32, seconds=seconds)
    os.kill(pid, signal.SIGUSR2)
    for _ in range(100):
        if out.exists() and out.stat().st_size:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    result["split"] = split(json.loads(out.read_text()), result["requests"])
    out.unlink()
    return result


def run(root: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    pins = cpu_pins(args.no_pin)
    cpus = pins[0] if pins else None
    if pins:
        os.sched_setaffinity(0, pins[1])
    code = env["PYTHONPATH"]
    env = env | {"TRADEFORGE_SAMPLE_OUT": str(root / "sample.json")}
    ports = [free_port() for _ in range(3)]
    serve = "serve --port {} --workers 1 --log-level warning"
    ours_cmd = [
        str(BIN / "python"),
        "-P",  # not the working directory's checkout: the one PYTHONPATH names
        "-c",
        "from pipelines.cli import app; app()",
        *serve.format(ports[0]).split(),
    ]
    sampled_cmd = [str(BIN / "python"), str(HERE / "_sampler.py"), *serve.format(ports[1]).split()]
    peer_cmd = [str(BIN / "python"), "-m", "uvicorn", "_plain_litestar:app", "--app-dir", str(HERE)]
    peer_cmd += f"--host {HOST} --port {ports[2]} --workers 1 --log-level warning --no-access-log".split()
    out: dict[str, Any] = {"machine": machine(pins, "servers"), "code": code}
    with (
        server(ours_cmd, env, root / "serve.log", cpus) as ours,
        server(sampled_cmd, env, root / "sampled.log", cpus) as prof,
        server(peer_cmd, env, root / "peer.log", cpus) as peer,
    ):
        for port, proc, log in ((ports[0], ours, "serve"), (ports[1], prof, "sampled")):
            wait_http(f"http://{HOST}:{port}/health/live", proc, root / f"{log}.log")
        wait_http(f"http://{HOST}:{ports[2]}/health/live", peer, root / "peer.log")
        body = json.dumps({"model_name": MODEL, "symbol": "AAPL"}).encode()
        key = {"X-API-Key": api_key(ports[0], f"split-{time.time_ns()}")}
        targets = {
            "null": Target("plain Litestar", ports[2], "/predict", body, _has("signal"), pids=(peer.pid,)),
            "ours": Target("tradeforge", ports[0], PREDICT_PATH, body, _has("signal"), key, (ours.pid,)),
        }
        profiled = Target(
            "tradeforge, sampled", ports[1], PREDICT_PATH, body, _has("signal"), key, (prof.pid,)
        )
        for t in [*targets.values(), profiled]:  # warm-up
            measure(t, 1, requests=200)
            measure(t, 32, seconds=1.0)
        rounds: list[dict[str, Any]] = []
        for r in range(args.rounds):
            row = {name: measure(t, 32, seconds=args.seconds) for name, t in targets.items()}
            row["sampled"] = sampled(profiled, root / "sample.json", args.seconds)
            rounds.append(row)
            n, o = row["null"], row["ours"]
            print(
                f"  round {r + 1}: null {n['rps']:6.0f} req/s {n['server_cpu_ms_per_request']:.3f} ms CPU | "
                f"ours {o['rps']:6.0f} req/s p50 {o['p50_ms']:.2f} p99 {o['p99_ms']:.2f} ms "
                f"{o['server_cpu_ms_per_request']:.3f} ms CPU | load {o['loadavg_1m']:.2f}",
                flush=True,
            )
    out["rounds"] = rounds
    return out


def report(results: dict[str, Any]) -> None:
    rounds = results["rounds"]
    best = max(rounds, key=lambda r: r["ours"]["rps"])
    cpu = statistics.median(r["ours"]["server_cpu_ms_per_request"] for r in rounds)
    null_cpu = statistics.median(r["null"]["server_cpu_ms_per_request"] for r in rounds)
    shares: dict[str, list[float]] = defaultdict(list)
    for r in rounds:
        for k, v in r["sampled"]["split"]["shares"].items():
            shares[k].append(v)
    print(f"\nserver CPU per request, median of {len(rounds)} rounds at c=32:")
    print(f"  {'plain Litestar POST /predict (null route)':<44} {null_cpu:7.3f} ms")
    print(f"  {'tradeforge POST ' + PREDICT_PATH:<44} {cpu:7.3f} ms, of which:")
    for k, v in sorted(shares.items(), key=lambda kv: -statistics.median(kv[1])):
        share = statistics.median(v)
        print(f"    {k:<42} {share * cpu:7.3f} ms ({share:5.1%})")
    o = best["ours"]
    by_round = ", ".join(f"{r['ours']['rps']:.0f}" for r in rounds)
    print(
        f"best round: {o['rps']:.0f} req/s, p50 {o['p50_ms']:.2f} ms, p99 {o['p99_ms']:.2f} ms; null route "
        f"{best['null']['rps']:.0f} req/s; rounds: {by_round}"
    )
    top = best["sampled"]["split"]["top_functions_ms_per_request"]
    print("top functions of the sampled server (ms per request, sampler included):")
    for k, v in list(top.items())[:15]:
        print(f"    {v:7.4f}  {k}")
    for goal, ok in results["goals_met"].items():
        print(f"  goal {goal} {GOALS[goal]:g}: {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Server CPU per prediction, by component")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", help="serve this checkout's code (default: this one)")
    parser.add_argument("--home", help="reuse a prepared benchmark home (kept); default: a temp one")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and client to CPUs")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "seed": 42,
        "versions": versions("litestar", "uvicorn", "uvloop", "httptools", "msgspec", "lightgbm"),
        "params": vars(args),
        "goals": GOALS,
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-split-") as tmp:
        root = Path(args.home) if args.home else Path(tmp)
        code = str(Path(args.code).resolve()) if args.code else str(HERE.parent)
        env = environment(root) | {"PYTHONPATH": code}  # the served code, not the installed one
        if not (root / "home" / "mlflow").exists():
            results["setup"] = prepare(env)
        results |= run(Path(tmp), env, args)
    best = max(results["rounds"], key=lambda r: r["ours"]["rps"])["ours"]
    results["goals_met"] = {
        "c32_rps": best["rps"] >= GOALS["c32_rps"],
        "c32_p99_ms": best["p99_ms"] <= GOALS["c32_p99_ms"],
    }
    report(results)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "predict_split.json").write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
