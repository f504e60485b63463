"""``tradeforge serve`` runs the app on uvicorn (a real process, a real socket)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.net_support import free_port
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
    finally:
        proc.terminate()
        proc.wait(timeout=20)
