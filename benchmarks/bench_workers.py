"""API worker scaling benchmark, run by ``make bench``.

Two ``tradeforge serve`` processes on one home, started in the same run: one with ``--workers 1``
and one with ``--workers 2`` (uvicorn's process manager; each worker is a full app with its own
caches, the two share the listening socket). Both answer ``POST /api/v1/predictions/predict`` for a
warm LightGBM champion (synthetic AAPL, daily bars), authenticated with the API key of an
enterprise-tier user, exactly as bench_serving.py sets it up (its environment, training, user and
load generator are reused): a cached prediction, logged to the app database like every prediction.

Nothing is pinned: the two workers need the machine's cores, and the client (asyncio + uvloop over
raw keep-alive HTTP/1.1 streams, one connection per caller) shares them. Its own ceiling is measured
against bench_serving.py's null server in the same run. The servers alternate over ``--rounds``
rounds of ``--seconds`` of closed-loop load at concurrency ``--concurrency`` (64); the best round of
each is compared, the median ratio is reported too. Goal: two workers answer >= 1.7x the requests/s
of one. Seeded (synthetic seed 42, model seed 42). JSON results in benchmarks/results/workers.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _processes import BIN, HOST, free_port, machine, server, versions, wait_http
from bench_serving import (
    MODEL,
    PREDICT_PATH,
    SEED,
    Target,
    _has,
    _null_server,
    api_key,
    environment,
    measure,
    prepare,
)

HERE = Path(__file__).resolve().parent
GOAL_RATIO = 1.7
WORKERS = (1, 2)


def _serve(port: int, workers: int) -> list[str]:
    return [str(BIN / "tradeforge"), *f"serve --port {port} --workers {workers} --log-level warning".split()]


def _rounds(targets: list[Target], args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    done: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    for t in targets:  # warm-up: every worker loads the model and caches the feature row
        measure(t, args.concurrency, seconds=args.warmup_seconds)
    for r in range(args.rounds):
        for t in targets:
            res = measure(t, args.concurrency, seconds=args.seconds)
            done[t.name].append(res)
            print(
                f"  round {r + 1} {t.name:<22} c={args.concurrency} {res['rps']:7.0f} req/s "
                f"p50 {res['p50_ms']:6.2f} ms p99 {res['p99_ms']:7.2f} ms | "
                f"failed {res['failed']} | load {res['loadavg_1m']:.2f}",
                flush=True,
            )
    return done


def run(root: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Both servers and the null server up at once, measured in alternation, all ended on exit."""
    ports = {w: free_port() for w in WORKERS}
    null_port = free_port()
    body = json.dumps({"model_name": MODEL, "symbol": "AAPL"}).encode()
    mp = multiprocessing.get_context("spawn")
    ready = mp.Event()
    null = mp.Process(target=_null_server, args=(null_port, ready), daemon=True)
    with (
        server(_serve(ports[1], 1), env, root / "serve1.log", None) as one,
        server(_serve(ports[2], 2), env, root / "serve2.log", None) as two,
    ):
        for port, proc, log in ((ports[1], one, "serve1.log"), (ports[2], two, "serve2.log")):
            wait_http(f"http://{HOST}:{port}/health/live", proc, root / log)
        headers = {"X-API-Key": api_key(ports[1])}  # one database: the key works on both
        targets = [
            Target(
                f"{w} worker{'s' if w > 1 else ''}",
                ports[w],
                PREDICT_PATH,
                body,
                _has("signal"),
                headers,
                (p.pid,),
            )
            for w, p in ((1, one), (2, two))
        ]
        null.start()
        try:
            ready.wait(30)
            targets.append(Target("null (client ceiling)", null_port, "/", b"{}", _has("signal")))
            return {"rounds": _rounds(targets, args)}
        finally:
            null.terminate()
            null.join(5)


def summarize(results: dict[str, Any]) -> None:
    rounds = results["rounds"]
    one, two = rounds["1 worker"], rounds["2 workers"]
    best = {name: max(r["rps"] for r in done) for name, done in rounds.items()}
    results["best_rps"] = best
    results["ratio_best"] = best["2 workers"] / best["1 worker"]
    results["ratio_median"] = statistics.median(b["rps"] / a["rps"] for a, b in zip(one, two, strict=True))
    results["goal_met"] = results["ratio_best"] >= GOAL_RATIO
    results["bad_answers"] = {
        f"{name} round {i + 1}": r["bad_answers"]
        for name, done in rounds.items()
        for i, r in enumerate(done)
        if r["bad_answers"]
    }


def report(results: dict[str, Any], concurrency: int) -> None:
    print(f"\n{'server':<24} {'best req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}")
    for name, done in results["rounds"].items():
        b = max(done, key=lambda r: r["rps"])
        cpu = b.get("server_cpu_ms_per_request")
        print(
            f"{name:<24} {b['rps']:10.0f} {b['p50_ms']:8.2f} {b['p99_ms']:8.2f} "
            f"{'' if cpu is None else f'{cpu:11.3f}'}"
        )
    verdict = "met" if results["goal_met"] else "NOT met"
    print(
        f"\n2 workers / 1 worker at c={concurrency}: {results['ratio_best']:.2f}x (best rounds), "
        f"{results['ratio_median']:.2f}x (median of rounds); goal >= {GOAL_RATIO}x: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per round and server")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    args = parser.parse_args()
    if min(args.rounds, args.concurrency) < 1 or min(args.seconds, args.warmup_seconds) <= 0:
        parser.error("--rounds, --concurrency, --seconds and --warmup-seconds must be positive")
    results: dict[str, Any] = {
        "seed": SEED,
        "python": platform.python_version(),
        "machine": machine(None),
        "versions": versions("litestar", "uvicorn", "uvloop", "httptools", "lightgbm"),
        "setup": {
            "route": f"POST {PREDICT_PATH} (X-API-Key, enterprise tier, cached prediction)",
            "model": f"{MODEL}: lightgbm, synthetic AAPL 1d since 2021-01-01, champion",
            "rate_limiter": "in-memory per worker (no TRADEFORGE_REDIS_URL); enterprise tier: unlimited",
            "pinning": "none (servers and client share every CPU)",
        },
        "params": vars(args),
        "goal_ratio": GOAL_RATIO,
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-workers-") as tmp:
        root = Path(tmp)
        env = environment(root)
        results["setup"] |= prepare(env)
        results |= run(root, env, args)
        results["server_logs_tail"] = {
            n: (root / f"{n}.log").read_text()[-2000:] for n in ("serve1", "serve2")
        }
    results["machine"]["loadavg_after"] = os.getloadavg()
    summarize(results)
    report(results, args.concurrency)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "workers.json").write_text(json.dumps(results, indent=2, default=float))
    load = results["machine"]
    print(
        f"seed {SEED}; load average {load['loadavg_before'][0]:.2f} before, {load['loadavg_after'][0]:.2f} "
        f"after; results in {out / 'workers.json'}"
    )
    if results["bad_answers"]:
        raise SystemExit(
            f"some answers were not 200 with a prediction: {json.dumps(results['bad_answers'])[:2000]}"
        )


if __name__ == "__main__":
    main()
