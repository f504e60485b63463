"""``tradeforge serve`` runs the app on uvicorn (a real process, a real socket)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.net_support import free_port, wait_http
from tests.serving_support import SECRET


def test_serve_answers_over_http(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TRADEFORGE_HOME": str(tmp_path / "home"), "TRADEFORGE_SECRET_KEY": SECRET}
    exe = Path(sys.executable).with_name("tradeforge")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.3)
        assert health.status_code == 200 and health.json()["services"]["database"] == "healthy"
        assert health.headers["x-request-id"].startswith("req_")
        denied = httpx.get(f"http://127.0.0.1:{port}/api/v1/models", timeout=5)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "UNAUTHORIZED"
        assert (tmp_path / "home" / "app.db").is_file()
        # No proxy is trusted by default: a caller cannot pick the address it is limited under.
        url = f"http://127.0.0.1:{port}/api/v1/models"
        first = _remaining(url, "203.0.113.7")
        assert _remaining(url, "198.51.100.9") == first - 1
        assert _remaining(url, "192.0.2.1, 198.51.100.9") == first - 2
        # Nor escape the per-account login backoff by rotating the header.
        base = f"http://127.0.0.1:{port}"
        account = {"username": "xff-user", "password": "long-enough-pw"}
        assert httpx.post(f"{base}/auth/register", json=account, timeout=10).status_code == 201
        for n in range(5):
            wrong = {**account, "password": f"wrong-guess-{n}"}
            answer = httpx.post(f"{base}/auth/login", json=wrong, headers=_xff(n), timeout=10)
            assert answer.status_code == 401, answer.text
        locked = httpx.post(f"{base}/auth/login", json=account, headers=_xff(99), timeout=10)
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "RATE_LIMITED"
        assert int(locked.headers["retry-after"]) > 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _xff(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{n}"}


def _remaining(url: str, forwarded_for: str) -> int:
    answer = httpx.get(url, headers={"X-Forwarded-For": forwarded_for}, timeout=5)
    return int(answer.headers["x-ratelimit-remaining"])


def test_serve_believes_forwarded_for_only_from_trusted_proxies(tmp_path: Path) -> None:
    """Behind a reverse proxy named in TRADEFORGE_TRUSTED_PROXIES, anonymous callers are limited
    per real client (the proxy's X-Forwarded-For), not per proxy."""
    port = free_port()
    env = {
        **os.environ,
        "TRADEFORGE_HOME": str(tmp_path / "home"),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_TRUSTED_PROXIES": "127.0.0.1",
    }
    exe = Path(sys.executable).with_name("tradeforge")
    cmd = [str(exe), "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/health", proc).status_code == 200
        url = f"http://127.0.0.1:{port}/api/v1/models"
        first = _remaining(url, "203.0.113.7")
        assert _remaining(url, "203.0.113.7") == first - 1
        assert _remaining(url, "198.51.100.9") == first  # another client: its own bucket
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_two_workers_start_on_a_fresh_home_and_stream(tmp_path: Path) -> None:
    """``--workers 2`` on an empty home: both workers create the stores at once (MLflow's tables are
    built under a lock, else its migrations collide), and WebSocket streams work on the spawned
    workers through the fan-out protocol."""
    import json

    from websockets.sync.client import connect

    port = free_port()
    env = {**os.environ, "TRADEFORGE_HOME": str(tmp_path / "home"), "TRADEFORGE_SECRET_KEY": SECRET}
    exe = Path(sys.executable).with_name("tradeforge")
    cmd = [str(exe), "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            assert wait_http(f"{base}/health", proc).status_code == 200
        except AssertionError:
            proc.terminate()
            raise AssertionError(proc.communicate(timeout=30)[0].decode()[-3000:]) from None
        account = {"username": "twoworkers", "password": "long-enough-pw"}
        httpx.post(f"{base}/auth/register", json=account)
        login = httpx.post(f"{base}/auth/login", json=account)
        token = login.json()["access_token"]
        for _ in range(4):  # connections land on either worker
            with connect(f"ws://127.0.0.1:{port}/api/v1/ws/prices/AAPL?token={token}") as ws:
                assert json.loads(ws.recv(timeout=30))["type"] == "authenticated"
                first = json.loads(ws.recv(timeout=30))
                assert first["type"] == "price_update" and first["price"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
