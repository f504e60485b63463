"""Process helpers shared by the server benchmarks (bench_serving.py, bench_websocket.py): free
ports, CPU pinning, a server process that is always ended, waiting for HTTP, the CLI, CPU time, and
the machine description that goes into the results."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
import psutil

__all__ = [
    "BIN",
    "HOST",
    "Pins",
    "cli",
    "cpu_pins",
    "cpu_seconds",
    "free_port",
    "machine",
    "server",
    "versions",
    "wait_http",
]

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
Pins = tuple[set[int], set[int]] | None  # (server CPUs, client CPUs)


def cpu_pins(no_pin: bool) -> Pins:
    """Server on the first usable CPU, client on the second (None with fewer CPUs or ``no_pin``)."""
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, {cpus[1]}) if len(cpus) >= 2 and not no_pin else None


def machine(pins: Pins, server_label: str = "server") -> dict[str, Any]:
    """The machine a run was measured on (load average before the run included)."""
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "processor": platform.processor() or platform.machine(),
        "loadavg_before": os.getloadavg(),
        "pinned": {server_label: sorted(pins[0]), "client": sorted(pins[1])} if pins else None,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _pin(cpus: set[int] | None) -> Callable[[], None] | None:
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


@contextmanager
def server(
    args: list[str], env: dict[str, str], log: Path, cpus: set[int] | None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process in its own session; the whole group is ended on exit, failure included."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_pin(cpus)
        )
    try:
        yield proc
    finally:
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    """``tradeforge <args> --json`` of this venv; its last output line as a dict."""
    done = subprocess.run([str(BIN / "tradeforge"), *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"tradeforge {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def cpu_seconds(*pids: int) -> float:
    """User + system CPU seconds of these processes and their children so far."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def versions(*names: str) -> dict[str, str]:
    out = {}
    for name in names:
        with suppress(PackageNotFoundError):
            out[name] = version(name)
    return out
