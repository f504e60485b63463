"""WebSocket fan-out benchmark, run by ``make bench``.

``tradeforge serve`` (one uvicorn worker, in-process hub, the live feed on a virtual clock at
``--speed`` 60: a 1-minute BTC/USDT bar closes every wall second) serves a LightGBM champion trained
on synthetic 1-minute BTC/USDT bars. This process is the client: it opens N (100, then 1,000)
``/api/v1/ws/predictions/<model>/BTCUSDT`` streams plus one ``/api/v1/ws/prices/BTCUSDT`` stream, and
records every message of ``--bars`` bars.

The client (``_ws_client.py``) is a plain epoll loop over raw sockets (its own minimal RFC 6455
client: handshake, unmasked server frames, pong, close) with ``SO_TIMESTAMPNS``: the kernel stamps
each received segment with the real-time clock, so a delivery time is when the server's ``send``
reached the subscriber's socket (loopback), not when this client got round to reading it. The
client's own lag (user-space read time minus kernel stamp) is reported beside it.

Per bar (one ``prediction_update`` publish, identified by its ``sent_at``):

* fan-out: last subscriber's delivery - ``sent_at``. ``sent_at`` (serving/live.py
  ``prediction_update``) is taken after the prediction is computed, just before ``hub.publish``,
  so this is serialization + hand-off from the feed thread to the event loop + framing once + one
  socket write per subscriber (the frame sinks of serving/wsprotocol.py);
* prediction: ``sent_at`` - delivery of the bar's ``price_update`` (published by the feed just
  before ``on_new_bars``): invalidating the cached features, recomputing them, predicting;
* bar -> last subscriber: the sum (the feed's own ingest of the bar comes before and is excluded).
  This is the measure the targets are set on ("time from a new bar to the last subscriber's
  message"); they are checked on it and, separately, on the fan-out alone.

Server-side stamps (wall clock, the same clock as the kernel stamps): the instrumented server also
records when the feed published the bar's price, when ``on_new_bars`` ran (and its thread CPU time
and garbage collections) and when each fan-out ran on the event loop, so every bar's span splits into
its steps (``server_steps_ms``; the three slowest bars step by step in ``slowest_bars``).

"Serialized once": the server is started through this file (``--serve``), which wraps
``pipelines.live.hub.dumps`` (the hub's only serializer) with a counter and then runs the same
``tradeforge serve`` command function; the client reads the counts at the window's start and end
(SIGUSR1 asks the server to write them, so no timer runs in the server meanwhile). The count of
``prediction_update`` serializations during the window must equal the number of publishes seen, and
every subscriber's payload of a publish must be byte-identical.

The server and the client are pinned to different CPUs when there are two or more. Seeded
(synthetic seed 42, model seed 42). JSON results in benchmarks/results/websocket.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import suppress
from datetime import UTC, datetime, timedelta
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
from _ws_client import Client

HERE = Path(__file__).resolve().parent
SEED = 42
MODEL = "lgbm_btc_1m"
SYMBOL, WIRE_SYMBOL = "BTC/USDT", "BTCUSDT"  # a slash cannot travel in a path segment
USER, PASSWORD = "bench", "bench-password-42"
SECRET = "bench-websocket-secret-key-0123456789abcdef"
# Targets: p99 of the time from a new bar to the last subscriber's message. Checked on that span
# (bar -> last subscriber) and on its fan-out part alone (publish -> last subscriber).
TARGETS_MS = {100: 5.0, 1000: 25.0}
PROMISE_MS = 50.0  # what the WebSocket API promises: updates within 50 ms
nan, inf = float("nan"), float("inf")


# --- the instrumented server (``--serve``) ----------------------------------------------------------
def serve_instrumented(port: int, counts_path: Path) -> None:
    """``tradeforge serve --workers 1`` with the hub's serializer counted (by message type) and the
    steps of each bar stamped (wall clock, comparable with the client's kernel stamps): the feed's
    price publish, ``on_new_bars`` from entry to exit, and each fan-out on the event loop."""
    import pipelines.live.hub as hub
    import serving.live as live
    from pipelines.cli.ui import serve

    counts: Counter[str] = Counter()
    trace: list[dict[str, Any]] = []  # one entry per step: its name, start and end, and what it saw
    original, fan_out = hub.dumps, hub._fan_out
    on_bar, on_new_bars = live.LiveService.on_bar, live.LiveService.on_new_bars

    def counted(message: dict[str, Any]) -> str:
        counts[str(message.get("type"))] += 1
        return original(message)

    def fanned(subs: tuple[Any, ...], payload: str) -> None:
        t0 = time.time()
        fan_out(subs, payload)
        trace.append(
            {"step": "fan_out", "t0": t0, "t1": time.time(), "subscribers": len(subs), "payload": payload}
        )

    def priced(self: Any, event: dict[str, Any]) -> None:
        t0 = time.time()
        on_bar(self, event)
        trace.append({"step": "price_publish", "t0": t0, "t1": time.time()})

    def stamped(self: Any, *args: Any, **kwargs: Any) -> None:
        t0, c0, g0 = time.time(), time.thread_time(), _collections()
        on_new_bars(self, *args, **kwargs)
        t1, c1, g1 = time.time(), time.thread_time(), _collections()
        trace.append({"step": "on_new_bars", "t0": t0, "t1": t1, "cpu": c1 - c0, "gc": g1 - g0})

    # module and class attributes, looked up at each call (the feed binds ``on_new_bars`` at start)
    hub.dumps, hub._fan_out = counted, fanned
    live.LiveService.on_bar, live.LiveService.on_new_bars = priced, stamped  # type: ignore[method-assign]

    def snapshot(*_: object) -> None:  # on demand (SIGUSR1), so no timer competes with the fan-out
        steps = [
            {k: v for k, v in entry.items() if k != "payload"}
            | ({"sent_at": _sent_at(entry["payload"])} if "payload" in entry else {})
            for entry in trace[:]
        ]
        tmp = counts_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**counts, "at": time.time(), "trace": steps}))
        tmp.replace(counts_path)

    signal.signal(signal.SIGUSR1, snapshot)
    serve(port=port, workers=1, log_level="warning")


def _collections() -> int:
    """Garbage collections so far (every generation)."""
    return sum(int(g["collections"]) for g in gc.get_stats())


def _sent_at(payload: str) -> str:
    """The ``sent_at`` of a ``prediction_update`` payload ("" for other messages)."""
    with suppress(ValueError):
        message = json.loads(payload)
        if message.get("type") == "prediction_update":
            return str(message["sent_at"])
    return ""


# --- one measurement --------------------------------------------------------------------------------
def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _pct(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
        "mean": float(a.mean()),
    }


def _counts(path: Path, server_pid: int, client: Client) -> dict[str, float]:
    """The server's serialization counts now: asks for a snapshot (SIGUSR1) and waits for it,
    reading the subscribers' sockets meanwhile."""
    asked = time.time()
    os.kill(server_pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        with suppress(FileNotFoundError, ValueError):
            out: dict[str, float] = json.loads(path.read_text())
            if out.get("at", 0.0) >= asked:
                return out
        client.poll(0.01)
    return {}


def _steps(trace: list[dict[str, Any]], n: int) -> dict[str, dict[str, float]]:
    """The server's stamps of each prediction publish (by ``sent_at``): the bar's price publish and
    ``on_new_bars`` around it, and its fan-out to the ``n`` subscribers."""
    out: dict[str, dict[str, float]] = {}
    price: float | None = None
    hooks = [entry for entry in trace if entry["step"] == "on_new_bars"]
    for entry in trace:
        if entry["step"] == "price_publish":
            price = entry["t0"]
        elif (
            entry["step"] == "fan_out"
            and entry["sent_at"]
            and entry["subscribers"] == n
            and price is not None
        ):
            sent_at = entry["sent_at"]
            s = _epoch(sent_at)
            hook = next((h for h in hooks if h["t0"] <= s <= h["t1"]), None)
            if hook is not None:
                out[sent_at] = {
                    "price": price,
                    "hook0": hook["t0"],
                    "hook1": hook["t1"],
                    "hook_cpu": hook["cpu"],
                    "hook_gc": hook["gc"],
                    "fan0": entry["t0"],
                    "fan1": entry["t1"],
                }
    return out


def _spans(step: dict[str, float], bar_at: float, sent: float, last: float) -> dict[str, float]:
    """Milliseconds between the server's stamps of one bar and the client's kernel stamps."""
    return {
        "feed_price_publish_to_last_subscriber": (last - step["price"]) * 1e3,
        "price_publish_to_price_socket": (bar_at - step["price"]) * 1e3,
        "on_new_bars_to_sent_at": (sent - step["hook0"]) * 1e3,
        "on_new_bars_cpu": step["hook_cpu"] * 1e3,
        "on_new_bars_wall_minus_cpu": (step["hook1"] - step["hook0"] - step["hook_cpu"]) * 1e3,
        "sent_at_to_on_new_bars_return": (step["hook1"] - sent) * 1e3,
        "sent_at_to_fan_out_start": (step["fan0"] - sent) * 1e3,
        "fan_out_loop": (step["fan1"] - step["fan0"]) * 1e3,
        "fan_out_end_to_last_socket": (last - step["fan1"]) * 1e3,
    }


def measure(
    port: int, token: str, n: int, bars: int, speed: float, server_pid: int, counts_path: Path
) -> dict[str, Any]:
    client = Client(port)
    try:
        t0 = time.perf_counter()
        price = client.connect("price", f"/api/v1/ws/prices/{WIRE_SYMBOL}?token={token}", 1)[0]
        subs = client.connect("prediction", f"/api/v1/ws/predictions/{MODEL}/{WIRE_SYMBOL}?token={token}", n)
        setup_s = time.perf_counter() - t0
        client.run_for(3.0)  # let the connection-time publishes drain
        client.recording = True  # before the first counter snapshot: no publish counted unseen
        client.run_for(0.25)
        before, cpu0, user0 = (
            _counts(counts_path, server_pid, client),
            cpu_seconds(server_pid),
            client.user_seconds,
        )
        window_start = time.time()
        client.run_for(bars * 60.0 / speed + 0.5)
        after, cpu = _counts(counts_path, server_pid, client), cpu_seconds(server_pid) - cpu0
        window_end = time.time()
        client.run_for(0.3)  # the deliveries of the last counted publish
        client.recording = False
        client_seconds = client.user_seconds - user0
        closed = [c.close for c in subs if c.close]
    finally:
        client.close_all()
    return analyse(
        client.records,
        price.index,
        n,
        window_start,
        window_end,
        {
            "setup_seconds": setup_s,
            "serializations": {
                k: after.get(k, 0) - before.get(k, 0) for k in after if k not in ("at", "trace")
            },
            "trace": after.get("trace", []),
            "counted_between": (before.get("at", 0.0), after.get("at", 0.0)),
            "server_cpu_seconds": cpu,
            "client_read_seconds": client_seconds,
            "closed_streams": len(closed),
            "close_reasons": [list(c) for c in closed[:3]],
        },
    )


def analyse(
    records: list[tuple[int, float, float, bytes]],
    price_index: int,
    n: int,
    start: float,
    end: float,
    extra: dict[str, Any],
) -> dict[str, Any]:
    parsed: dict[bytes, dict[str, Any]] = {}
    prices: list[tuple[float, str]] = []  # (kernel time, bar timestamp)
    publishes: dict[str, dict[str, Any]] = defaultdict(lambda: {"k": [], "u": [], "payloads": set()})
    for index, kts, uts, payload in records:
        msg = parsed.get(payload)
        if msg is None:
            msg = parsed[payload] = json.loads(payload)
        if index == price_index:
            if msg.get("type") == "price_update":
                prices.append((kts, str(msg["timestamp"])))
            continue
        if msg.get("type") != "prediction_update":
            continue
        p = publishes[msg["sent_at"]]
        p["k"].append(kts)
        p["u"].append(uts)
        p["payloads"].add(payload)
        p["bar"] = str(msg["timestamp"])
    steps = _steps(extra.pop("trace"), n)
    fan_last, fan_first, fan_median, predict, bar_to_last, lag = [], [], [], [], [], []
    server: dict[str, list[float]] = defaultdict(list)
    worst: list[dict[str, float]] = []  # the slowest bars, step by step
    incomplete, not_identical, unmatched = 0, 0, 0
    bars_seen = 0
    for sent_at, p in sorted(publishes.items()):
        s = _epoch(sent_at)
        if not (start + 0.05 < s < end - 0.3):  # only publishes whose whole fan-out is in the window
            continue
        bars_seen += 1
        if len(p["k"]) < n:
            incomplete += 1
            continue
        not_identical += len(p["payloads"]) != 1
        k = np.asarray(p["k"])
        fan_last.append((k.max() - s) * 1e3)
        fan_first.append((k.min() - s) * 1e3)
        fan_median.append((float(np.median(k)) - s) * 1e3)
        lag.append(float(np.max(np.asarray(p["u"]) - k)) * 1e3)
        seen = [t for t, bar in prices if bar == p["bar"]] or [t for t, _ in prices if t <= s]
        if not seen:
            unmatched += 1
            continue
        bar_at = seen[-1]
        predict.append((s - bar_at) * 1e3)
        bar_to_last.append((k.max() - bar_at) * 1e3)
        step = steps.get(sent_at)
        if step is not None:
            spans = _spans(step, bar_at, s, float(k.max()))
            for name, span in spans.items():
                server[name].append(span)
            worst.append({"bar_to_last_ms": bar_to_last[-1], **spans, "gc_runs": step["hook_gc"]})
    served = extra["serializations"].get("prediction_update", 0)
    lo, hi = extra["counted_between"]
    in_window = sum(1 for s in publishes if lo < _epoch(s) < hi)
    return {
        "subscribers": n,
        "bars": bars_seen,
        "incomplete_bars": incomplete,
        "fanout_last_ms": _pct(fan_last),
        "fanout_first_ms": _pct(fan_first),
        "fanout_median_subscriber_ms": _pct(fan_median),
        "prediction_ms": _pct(predict),
        "bar_to_last_subscriber_ms": _pct(bar_to_last),
        "client_read_lag_ms": _pct(lag),
        "server_steps_ms": {name: _pct(spans) for name, spans in server.items()},
        "slowest_bars": sorted(worst, key=lambda w: -w["bar_to_last_ms"])[:3],
        "price_bars_unmatched": unmatched,
        "serialized_once": {
            "prediction_update_serializations": served,
            "prediction_update_publishes_seen": in_window,
            "publishes_with_differing_payloads": not_identical,
            "ok": served == in_window and not_identical == 0 and in_window > 0,
        },
        **extra,
    }


# --- setup (processes: _processes.py) ---------------------------------------------------
def environment(root: Path, history_days: int) -> dict[str, str]:
    """This benchmark's own home, seed and secret; TRADEFORGE_*/MLFLOW_* of the caller are dropped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEFORGE_", "MLFLOW_"))}
    start = (datetime.now(UTC) - timedelta(days=history_days)).date().isoformat()
    return env | {
        "TRADEFORGE_HOME": str(root / "home"),
        "TRADEFORGE_HISTORY_START": start,
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_SYNTHETIC_SEED": str(SEED),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'home' / 'mlflow' / 'mlflow.db'}",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "TQDM_DISABLE": "1",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def prepare(env: dict[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = ["--model-type", "lightgbm", "--model-name", MODEL, "--symbol", SYMBOL, "--timeframe", "1m"]
    params = json.dumps({"seed": SEED, "n_estimators": 100})
    trained = cli(env, "train", *model, "--source", "synthetic", "--params", params)
    seconds = time.perf_counter() - t0
    cli(env, "users", "create", USER, "--password", PASSWORD, "--tier", "enterprise")
    return {
        "train_seconds": seconds,
        "model_version": trained["version"],
        "features": trained["features_used"],
    }


def login(port: int) -> str:
    body = {"username": USER, "password": PASSWORD}
    r = httpx.post(f"http://{HOST}:{port}/auth/login", json=body, timeout=30)
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


# --- the run ----------------------------------------------------------------------------------------


def run(root: Path, env: dict[str, str], args: argparse.Namespace, pins: Pins) -> dict[str, Any]:
    port = free_port()
    counts = root / "serializations.json"
    serve_env = env | {
        "TRADEFORGE_LIVE_SPEED": str(args.speed),
        "TRADEFORGE_LIVE_SYMBOLS": json.dumps([SYMBOL]),
        "TRADEFORGE_LIVE_TIMEFRAME": "1m",
        "TRADEFORGE_WS_QUEUE_SIZE": str(args.queue_size),
    }
    if pins:
        os.sched_setaffinity(0, pins[1])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), "--counts", str(counts)]
    out: dict[str, Any] = {"runs": {}}
    with server(cmd, serve_env, root / "serve.log", pins[0] if pins else None) as proc:
        wait_http(f"http://{HOST}:{port}/health", proc, root / "serve.log")
        token = login(port)
        print(f"server up (pid {proc.pid}); pinned (server, client): {pins}", flush=True)
        for n in args.subscribers:
            r = measure(port, token, n, args.bars, args.speed, proc.pid, counts)
            out["runs"][str(n)] = r
            f, p, e = r["fanout_last_ms"], r["prediction_ms"], r["bar_to_last_subscriber_ms"]
            print(
                f"  N={n:>5}: {r['bars']} bars; publish -> last subscriber p50 {f.get('p50', nan):.2f} ms "
                f"p99 {f.get('p99', nan):.2f} ms | prediction p50 {p.get('p50', nan):.2f} ms | "
                f"bar -> last p99 {e.get('p99', nan):.2f} ms | setup {r['setup_seconds']:.1f} s",
                flush=True,
            )
    out["server_log_tail"] = (root / "serve.log").read_text()[-2000:]
    return out


def report(results: dict[str, Any]) -> None:
    print(
        f"\n{'subscribers':>11} {'bars':>5} | {'publish -> last subscriber (ms)':^31} | "
        f"{'prediction (ms)':^15} | {'bar -> last (ms)':^17} | {'client lag p99':>14} | target"
    )
    cols = f"{'p50':>9} {'p99':>9} {'max':>9}  | {'p50':>6} {'p99':>7} | {'p50':>7} {'p99':>8} |"
    print(f"{'':>11} {'':>5} | {cols}")
    for n, r in results["runs"].items():
        f, p, e = r["fanout_last_ms"], r["prediction_ms"], r["bar_to_last_subscriber_ms"]
        lag, target = r["client_read_lag_ms"], TARGETS_MS.get(int(n))
        t = r["targets_met"]
        met = (
            ""
            if target is None
            else f"p99 <= {target:g} ms: bar -> last {'met' if t['bar_to_last_p99'] else 'NOT met'}, "
            f"fan-out {'met' if t['fanout_p99'] else 'NOT met'}"
        )
        print(
            f"{n:>11} {r['bars']:>5} | {f.get('p50', nan):9.2f} {f.get('p99', nan):9.2f} "
            f"{f.get('max', nan):9.2f}  | {p.get('p50', nan):6.2f} {p.get('p99', nan):7.2f} | "
            f"{e.get('p50', nan):7.2f} {e.get('p99', nan):8.2f} | "
            f"{lag.get('p99', np.nan):11.2f} ms | {met}"
        )
    for n, r in results["runs"].items():
        s = r["serialized_once"]
        print(
            f"  N={n}: {s['prediction_update_serializations']} prediction_update serializations for "
            f"{s['prediction_update_publishes_seen']} publishes, "
            f"{s['publishes_with_differing_payloads']} publishes with differing payloads "
            f"-> serialized once: {'yes' if s['ok'] else 'NO'}; "
            f"{r['incomplete_bars']} bars missing a subscriber, {r['closed_streams']} streams closed; "
            f"server CPU {r['server_cpu_seconds'] * 1e3 / max(1, r['bars']):.1f} ms per bar"
        )
        for name, span in r["server_steps_ms"].items():
            print(f"    {name:<40} p50 {span.get('p50', nan):7.3f}  p99 {span.get('p99', nan):7.3f}  ms")


def main() -> None:
    parser = argparse.ArgumentParser(description="WebSocket fan-out benchmark")
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--bars", type=int, default=100, help="bars measured per subscriber count")
    parser.add_argument("--speed", type=float, default=60.0, help="virtual clock speed-up (60: 1m bar/s)")
    parser.add_argument("--history-days", type=int, default=4, help="days of 1m bars to train on")
    parser.add_argument("--queue-size", type=int, default=4096, help="TRADEFORGE_WS_QUEUE_SIZE")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to CPUs")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve_instrumented(args.serve, args.counts)
        return
    if args.bars < 3 or min(args.subscribers) < 1 or args.speed <= 0:
        parser.error("--bars must be at least 3, --subscribers and --speed positive")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max(args.subscribers) + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need * 2), hard))

    pins = cpu_pins(args.no_pin)
    results: dict[str, Any] = {
        "seed": SEED,
        "model_seed": SEED,
        "python": platform.python_version(),
        "machine": machine(pins, "server"),
        "versions": versions("litestar", "uvicorn", "uvloop", "websockets", "lightgbm"),
        "setup": {
            "model": f"{MODEL}: lightgbm (100 trees), synthetic {SYMBOL} 1m, last {args.history_days} days",
            "workers": 1,
            "hub": "LocalHub (no TRADEFORGE_REDIS_URL)",
            "client": "epoll over raw sockets, SO_TIMESTAMPNS kernel receive stamps",
        },
        "params": {k: v for k, v in vars(args).items() if k not in ("serve", "counts")},
        "targets_ms": {"bar_to_last_and_fanout_p99": TARGETS_MS, "promise_001": PROMISE_MS},
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-ws-") as tmp:
        root = Path(tmp)
        env = environment(root, args.history_days)
        results["setup"] |= prepare(env)
        results |= run(root, env, args, pins)
    for n, r in results["runs"].items():
        target = TARGETS_MS.get(int(n))
        p99 = r["fanout_last_ms"].get("p99", inf)
        bar_p99 = r["bar_to_last_subscriber_ms"].get("p99", inf)
        r["targets_met"] = {
            "bar_to_last_p99": None if target is None else bar_p99 <= target,
            "fanout_p99": None if target is None else p99 <= target,
            "bar_to_last_p99_under_50ms": r["bar_to_last_subscriber_ms"].get("p99", inf) < PROMISE_MS,
            "serialized_once": r["serialized_once"]["ok"],
        }
    results["machine"]["loadavg_after"] = os.getloadavg()
    report(results)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "websocket.json").write_text(json.dumps(results, indent=2, default=float))
    load = results["machine"]
    print(
        f"seed {SEED}; load average {load['loadavg_before'][0]:.2f} before, {load['loadavg_after'][0]:.2f} "
        f"after; results in {out / 'websocket.json'}"
    )
    runs = results["runs"].items()
    bad = [n for n, r in runs if r["incomplete_bars"] or r["closed_streams"] or not r["bars"]]
    if bad:
        raise SystemExit(f"subscriber counts with lost messages or no bars: {bad}")


if __name__ == "__main__":
    main()
