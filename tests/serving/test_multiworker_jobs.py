"""Two ``tradeforge serve`` processes on one home and one Redis: job events reach every worker.

The first process takes the home's scheduler lock and runs the jobs; an SSE client connected to the
second one must still see those jobs start and finish (relayed through Redis pub/sub).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.net_support import NO_REDIS, REDIS_URL, follow_sse, free_port, redis_up, wait_http
from tests.serving_support import SECRET


@contextmanager
def _serve(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    exe = Path(sys.executable).with_name("tradeforge")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health", proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_sse_on_another_worker_sees_the_jobs_the_scheduler_runs(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TRADEFORGE_HOME": str(tmp_path / "home"),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_HISTORY_START": "2023-01-01",
        "TRADEFORGE_REDIS_URL": REDIS_URL,
    }
    events: list[dict[str, Any]] = []
    with _serve(env) as scheduler, _serve(env) as other, httpx.Client(base_url=other, timeout=30) as http:
        http.post("/auth/register", json={"username": "multi", "password": "long-enough-pw"})
        token = http.post("/auth/login", json={"username": "multi", "password": "long-enough-pw"}).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        health = httpx.get(f"{scheduler}/health", timeout=5)
        assert health.status_code == 200

        url = f"{other}/api/system/task-events?token={token}"
        reader = threading.Thread(target=follow_sse, args=(url, events, "task_completed"), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        while not events:  # the initial state arrived: the stream is open
            assert time.monotonic() < deadline
            time.sleep(0.05)
        body = {"symbol": "AAPL", "strategy": "buy_and_hold", "start_date": "2024-01-01", "async": True}
        ticket = httpx.post(f"{scheduler}/api/v1/backtest/run", json=body, headers=auth, timeout=30)
        assert ticket.status_code == 202, ticket.text
        reader.join(timeout=90)
    job_id = ticket.json()["job_id"]
    # The stream's heartbeat (every 5 s, no data) comes between the job's events when the job is slow.
    mine = [e for e in events if e["type"] != "initial_state" and e.get("data", {}).get("task_id") == job_id]
    types = [e["type"] for e in mine]
    # Every event came from the scheduler process (it accepted the job and ran it), none from the
    # worker the stream is connected to: only Redis can have carried them.
    assert types[0] == "task_queued" and "task_running" in types and types[-1] == "task_completed"
    assert mine[-1]["data"]["status"] == "completed"
