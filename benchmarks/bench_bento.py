"""Inference-tier benchmark, run by ``make bench``.

One 1,000-tree LightGBM model (no early stopping, synthetic AAPL 1d since 2022-01-01) is called on
single feature rows by 64 concurrent callers, two ways in the same run:

1. in process: ``InProcessCaller``, what the API does without ``TRADEFORGE_INFERENCE_URL``;
2. through the BentoML service (``serving/bento``, one worker, adaptive batching) with
   ``HttpModelCaller``, the API's own client when ``TRADEFORGE_INFERENCE_URL`` is set.

Both callers run in 64 threads of this process, each row called once (no memo on either side); the
service runs in its own process on the same machine. Reported: requests/s, p50 and p99 latency, the
CPU per request of this process (the callers) and of the service's processes, the mean adaptive
batch the service formed, and whether every answer equals the in-process one bit for bit. With
``--profile`` the service's processes run ``_sampler.py`` (through ``_hook/sitecustomize.py``) and
their main-thread stacks and thread CPU per request come with the results. Seeded (synthetic seed
42, model seed 42). JSON results in benchmarks/results/bench_bento.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from _processes import BIN, HOST, cpu_seconds, free_port, machine, server, versions, wait_http

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 42
MODEL = "lgbm_bench_bento"


def train(env: dict[str, str]) -> None:
    from pipelines.app.train import plan_training, train_model
    from pipelines.models.tracking import open_tracker
    from pipelines.settings import Settings

    settings = Settings(home=Path(env["TRADEFORGE_HOME"]), synthetic_seed=SEED, history_start="2022-01-01")
    if MODEL in dict(open_tracker(settings).list_models()):
        return  # a home kept from an earlier run (--home)
    params = {"n_estimators": 1000, "early_stopping_rounds": 0, "random_state": SEED}
    plan = plan_training(settings, model_type="lightgbm", model_name=MODEL, symbol="AAPL", params=params)
    train_model(settings, plan, open_tracker(settings))


def load(env: dict[str, str]) -> Any:
    from pipelines.models.registry import ModelRegistry
    from pipelines.models.tracking import open_tracker
    from pipelines.settings import Settings

    settings = Settings(home=Path(env["TRADEFORGE_HOME"]))
    loaded = ModelRegistry(open_tracker(settings), settings.models_cache_dir).load(MODEL, "1")
    trees = loaded.model.booster.num_trees()
    if trees != 1000:
        raise RuntimeError(f"the model has {trees} trees, not 1000")
    return loaded


def hammer(call: Callable[[np.ndarray], np.ndarray], rows: np.ndarray, concurrency: int) -> dict[str, Any]:
    """Each row called once, by ``concurrency`` threads; requests/s, latencies, the outputs."""
    outs: list[Any] = [None] * len(rows)
    ok = np.ones(len(rows), dtype=bool)
    latencies = np.zeros(len(rows))
    cursor = iter(range(len(rows)))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            began = time.perf_counter()
            try:
                outs[i] = call(rows[i : i + 1])
            except Exception as exc:  # counted, and the run goes on
                outs[i] = np.full(1, np.nan)
                ok[i] = False
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
            latencies[i] = time.perf_counter() - began

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {
        "requests": len(rows),
        "failed": len(failures),
        "first_failure": failures[0] if failures else None,
        "seconds": round(wall, 3),
        "requests_per_second": round(len(rows) / wall, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 2),
        "p99_ms": round(float(np.percentile(latencies, 99)) * 1000, 2),
        "outputs": np.concatenate(outs),
        "ok": ok,
    }


def charged(
    name: str,
    measured: Callable[[], dict[str, Any]],
    server_pid: int | None = None,
    profile: Path | None = None,
    url: str = "",
) -> dict[str, Any]:
    """``measured()`` with the CPU seconds per request of this process (the callers) and of the
    service's processes; with ``profile``, the service's sampled stacks over the same span."""
    pids = (
        []
        if server_pid is None
        else [server_pid, *(c.pid for c in psutil.Process(server_pid).children(True))]
    )
    if profile is not None:
        for pid in pids:
            os.kill(pid, signal.SIGUSR1)
        time.sleep(0.2)
    client0, server0 = time.process_time(), cpu_seconds(*pids)
    result = measured()
    client, server_cpu = time.process_time() - client0, cpu_seconds(*pids) - server0
    n = result["requests"]
    result["client_cpu_ms_per_request"] = round(client * 1e3 / n, 4)
    if pids:
        result["service_cpu_ms_per_request"] = round(server_cpu * 1e3 / n, 4)
    if profile is not None and pids:
        result["service_profile"] = sampled(pids, profile, n, url)
    print(f"  {name}: {result['requests_per_second']:.0f} req/s, p99 {result['p99_ms']} ms", flush=True)
    return result


def sampled(pids: list[int], profile: Path, requests: int, url: str) -> dict[str, Any]:
    """The service processes' samples (``_sampler.py``) as ms per request: threads, top frames."""
    threads: dict[str, float] = {}
    top: dict[str, float] = {}
    inclusive: dict[str, float] = {}
    for pid in pids:
        out = Path(str(profile).replace("{pid}", str(pid)))
        os.kill(pid, signal.SIGUSR2)
        httpx.get(f"{url}/livez", timeout=10)  # an idle worker runs the handler on its next request
        for _ in range(40):
            if out.exists() and out.stat().st_size:
                break
            time.sleep(0.05)
        else:
            continue  # not a sampled process (not Python, or started before the hook)
        time.sleep(0.2)
        data = json.loads(out.read_text())
        for name, cpu in data["threads"].items():
            threads[name] = threads.get(name, 0.0) + cpu
        for stack, seconds in data["stacks"]:
            if stack:
                top[stack[-1]] = top.get(stack[-1], 0.0) + seconds
            for frame in set(stack):
                inclusive[frame] = inclusive.get(frame, 0.0) + seconds

    def per_request(d: dict[str, float], n: int) -> dict[str, float]:
        best = sorted(d.items(), key=lambda kv: -kv[1])[:n]
        return {k: round(v * 1e3 / requests, 4) for k, v in best if v > 0}

    return {
        "threads_ms_per_request": per_request(threads, 20),
        "main_thread_top_ms_per_request": per_request(top, 25),
        "main_thread_inclusive_ms_per_request": per_request(inclusive, 60),
    }


def mean_batch(url: str) -> float | None:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = re.search(
        r'^bentoml_service_adaptive_batch_size_sum\{[^}]*method_name="predict"[^}]*\} (\S+)', text, re.M
    )
    count = re.search(
        r'^bentoml_service_adaptive_batch_size_count\{[^}]*method_name="predict"[^}]*\} (\S+)', text, re.M
    )
    if not total or not count or float(count.group(1)) == 0:
        return None
    return round(float(total.group(1)) / float(count.group(1)), 2)


def run(env: dict[str, str], root: Path, args: argparse.Namespace) -> dict[str, Any]:
    from pipelines.prediction import InProcessCaller
    from serving.inference import HttpModelCaller

    loaded = load(env)
    rows = np.random.default_rng(SEED).normal(size=(args.requests, len(loaded.meta.feature_names)))
    port = free_port()
    url = f"http://{HOST}:{port}"
    cmd = [str(BIN / "bentoml"), "serve", "serving.bento.service:TradeforgeInference", "--host", HOST]
    log = root / "bento.log"
    profile = root / "sample-{pid}.json" if args.profile else None
    if profile is not None:  # the sampler in every process of the service (_hook/sitecustomize.py)
        env = env | {"TRADEFORGE_SAMPLE_OUT": str(profile), "PYTHONPATH": f"{HERE / '_hook'}:{ROOT}"}
    with server([*cmd, "--port", str(port)], env, log, None) as proc:
        began = time.perf_counter()
        wait_http(f"{url}/readyz", proc, log, timeout=300)
        ready_seconds = round(time.perf_counter() - began, 1)
        local = InProcessCaller()
        remote = HttpModelCaller(url, pool=args.concurrency, timeout=60)
        try:
            for i in range(30):  # BentoML's batcher learns its timings from its first batches
                remote(loaded, rows[i : i + 1])
            hammer(lambda x: remote(loaded, x), rows[: args.warmup], args.concurrency)
            hammer(lambda x: local(loaded, x), rows[: args.warmup], args.concurrency)
            in_process = charged(
                "in process", lambda: hammer(lambda x: local(loaded, x), rows, args.concurrency)
            )
            bento = charged(
                "Bento",
                lambda: hammer(lambda x: remote(loaded, x), rows, args.concurrency),
                proc.pid,
                profile,
                url,
            )
            batch = mean_batch(url)
        finally:
            remote.close()
    answered = in_process.pop("ok") & bento.pop("ok")  # failed calls are counted apart
    exact = bool(np.array_equal(in_process.pop("outputs")[answered], bento.pop("outputs")[answered]))
    speedup = round(bento["requests_per_second"] / in_process["requests_per_second"], 2)
    return {
        "service_ready_seconds": ready_seconds,
        "in_process": in_process,
        "bento": bento | {"mean_adaptive_batch": batch},
        "bento_vs_in_process_throughput": speedup,
        "bit_identical": exact,  # over the calls both ways answered
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Inference-tier benchmark")
    parser.add_argument("--requests", type=int, default=5000, help="single-row calls per way")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--home", type=Path, help="a home to keep the trained model in between runs")
    parser.add_argument("--profile", action="store_true", help="sample the service's processes' CPU")
    args = parser.parse_args()
    if min(args.requests, args.concurrency, args.warmup) < 1 or args.warmup > args.requests:
        parser.error("--requests, --concurrency and --warmup must be positive, --warmup <= --requests")
    results: dict[str, Any] = {
        "seed": SEED,
        "python": platform.python_version(),
        "machine": machine(None),
        "versions": versions("bentoml", "lightgbm", "httpx", "mlflow"),
        "setup": {
            "model": f"{MODEL}: lightgbm, 1,000 trees, synthetic AAPL 1d since 2022-01-01",
            "rows": "single random normal rows of the model's feature width (seeded)",
            "bento_workers": 1,
        },
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-bento-") as tmp:
        root = Path(tmp)
        home = args.home.resolve() if args.home else root / "home"
        env = {**os.environ, "TRADEFORGE_HOME": str(home), "PYTHONPATH": str(ROOT)}
        began = time.perf_counter()
        train(env)
        results["train_seconds"] = round(time.perf_counter() - began, 1)
        results |= run(env, root, args)
    results["machine"]["loadavg_after"] = os.getloadavg()
    out = HERE / "results" / "bench_bento.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    if not results["bit_identical"]:
        sys.exit("the service's answers differ from in-process predictions")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
