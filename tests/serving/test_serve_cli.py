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
        # Behind a reverse proxy on this host (uvicorn trusts X-Forwarded-For from FORWARDED_ALLOW_IPS,
        # 127.0.0.1 by default) anonymous callers are limited per real client, not per proxy.
        url = f"http://127.0.0.1:{port}/api/v1/models"

        def remaining(client: str) -> int:
            answer = httpx.get(url, headers={"X-Forwarded-For": client}, timeout=5)
            return int(answer.headers["x-ratelimit-remaining"])

        first = remaining("203.0.113.7")
        assert remaining("203.0.113.7") == first - 1
        assert remaining("198.51.100.9") == first  # another client: its own bucket
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
