"""Local network helpers for tests: the local Redis, free ports, waiting for a server, SSE reading, the
Bento's batch count."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from typing import Any

import httpx

# One database per pytest-xdist worker (gw0 -> 1, gw1 -> 2, none -> 1): each worker's keys and, with the
# hub's per-database channel prefix, its pub/sub messages are its own.
REDIS_DB = 1 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
NO_REDIS = "no Redis server on 127.0.0.1:6379"


def redis_up() -> bool:
    """Whether the local Redis accepts connections (tests that need it skip otherwise)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, proc: subprocess.Popen[Any] | None = None, timeout: float = 60.0) -> httpx.Response:
    """GET ``url`` until the server answers (failing early if ``proc`` exits)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            assert proc is None or proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, f"no answer from {url} within {timeout:.0f} s"
            time.sleep(0.3)


def follow_sse(url: str, events: list[dict[str, Any]], until: str, timeout: float = 120.0) -> None:
    """Append every SSE ``data:`` message of ``url`` (JSON) to ``events`` until one of type ``until``."""
    with httpx.stream("GET", url, timeout=timeout) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                event = json.loads(line[5:])
                events.append(event)
                if event["type"] == until:
                    return


def bento_batches(url: str) -> float:
    """Batches the inference service at ``url`` has run so far (its Prometheus adaptive-batch count)."""
    metrics = httpx.get(f"{url}/metrics", timeout=10)
    assert metrics.status_code == 200, metrics.text
    pattern = r'^bentoml_service_adaptive_batch_size_count\{[^}]*"predict"[^}]*\} (\S+)$'
    return sum(float(n) for n in re.findall(pattern, metrics.text, re.M))
