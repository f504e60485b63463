"""Jobs through the API: async training, backtests and batches, their status, ownership,
cancellation, the /api/system endpoints, and one real run end to end over a real socket (SSE
progress and the signed webhook)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.webhooks import SIGNATURE_HEADER, verify_signature
from tests.net_support import follow_sse, free_port
from tests.serving_support import SECRET, assert_envelope, make_user, wait_for_job
from tests.webhooks.support import running_receiver


def test_async_backtest_matches_the_sync_answer(client: Any) -> None:
    user, other = make_user(client), make_user(client)
    body = {"symbol": "AAPL", "strategy": "sma_cross", "start_date": "2024-01-01", "end_date": "2024-06-01"}
    accepted = client.post("/api/v1/backtest/run", json={**body, "async": True}, headers=user["headers"])
    assert accepted.status_code == 202, accepted.text
    ticket = accepted.json()
    assert ticket["job_url"] == f"/api/v1/jobs/{ticket['job_id']}" and ticket["task_type"] == "backtest"
    job = wait_for_job(client, ticket["job_id"], user["headers"])
    assert job["status"] == "completed" and job["progress"] == 100
    sync = client.post("/api/v1/backtest/run", json=body, headers=user["headers"]).json()
    assert job["result"]["metrics"] == sync["metrics"]
    assert client.get(f"/jobs/{ticket['job_id']}", headers=user["headers"]).json()["status"] == "completed"
    assert_envelope(
        client.get(f"/api/v1/jobs/{ticket['job_id']}", headers=other["headers"]), 403, "FORBIDDEN"
    )
    mine = client.get("/api/v1/jobs", headers=user["headers"]).json()
    assert [j["job_id"] for j in mine["jobs"]] == [ticket["job_id"]]
    assert client.get("/api/v1/jobs", headers=other["headers"]).json()["count"] == 0


def test_async_batch_is_accepted_with_a_job(client: Any) -> None:
    user = make_user(client)
    body = {"symbols": ["AAPL", "MSFT"], "model": "lgbm_aapl", "async": True}
    accepted = client.post("/api/v1/predict/batch", json=body, headers=user["headers"])
    assert accepted.status_code == 202, accepted.text
    ticket = accepted.json()
    assert ticket["status"] == "accepted" and ticket["webhook_url"].endswith(ticket["job_id"])
    job = wait_for_job(client, ticket["job_id"], user["headers"])
    assert job["status"] == "completed", job
    assert job["result"]["summary"]["successful"] == 2


def test_bad_async_input_is_refused_before_queuing(client: Any) -> None:
    user = make_user(client)
    bad = {"symbol": "AAPL", "strategy": "no_such_strategy", "async": True}
    assert_envelope(  # not one of the strategies the spec lists
        client.post("/api/v1/backtest/run", json=bad, headers=user["headers"]), 400, "VALIDATION_ERROR"
    )
    train = {"model_type": "lightgbm", "symbol": "AAPL", "parameters": {"n_trees": 3}, "async": True}
    assert_envelope(
        client.post("/api/v1/models/train", json=train, headers=user["headers"]), 400, "INVALID_REQUEST"
    )
    assert client.get("/api/v1/jobs", headers=user["headers"]).json()["count"] == 0


def test_cancel_a_job(client: Any) -> None:
    user = make_user(client)
    body = {
        "model_type": "lstm",
        "model_name": "slow_lstm",
        "symbol": "AAPL",
        "async": True,
        "parameters": {"epochs": 200, "hidden_size": 64},
    }
    ticket = client.post("/api/v1/models/train", json=body, headers=user["headers"]).json()
    cancelled = client.post(f"/api/v1/jobs/{ticket['job_id']}/cancel", headers=user["headers"])
    assert cancelled.status_code == 200, cancelled.text
    assert wait_for_job(client, ticket["job_id"], user["headers"])["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{ticket['job_id']}/cancel", headers=user["headers"])
    assert_envelope(again, 409, "CONFLICT")


def test_system_endpoints(client: Any) -> None:
    user, admin = make_user(client), make_user(client, role="admin")
    mine = client.get("/api/system/resources", headers=user["headers"]).json()
    assert mine["is_admin"] is False and "resources" not in mine
    assert set(mine["queue"]) >= {"running_count", "queued_count", "running_tasks", "queued_tasks"}
    full = client.get("/api/system/resources", headers=admin["headers"]).json()
    assert full["is_admin"] is True and full["resources"]["ram"]["total_gb"] > 0
    only = client.get("/api/system/resources-only", headers=admin["headers"]).json()
    assert only["resources"]["cpu"]["available_cores"] >= 1
    assert_envelope(client.get("/api/system/resources-only", headers=user["headers"]), 403, "FORBIDDEN")
    assert client.get("/api/system/queue", headers=user["headers"]).json()["queued_count"] >= 0


@pytest.mark.slow
def test_async_training_end_to_end_over_sse_and_webhook(tmp_path: Path) -> None:
    """A real server: train asynchronously, follow the job over SSE (token in the query string, as
    EventSource sends it), receive the signed webhook, then find the registered model."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TRADEFORGE_HOME": str(tmp_path / "home"),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_HISTORY_START": "2023-01-01",
        "TRADEFORGE_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    }
    exe = Path(sys.executable).with_name("tradeforge")
    server = subprocess.Popen([str(exe), "serve", "--port", str(port), "--log-level", "warning"], env=env)
    events: list[dict[str, Any]] = []
    try:
        with running_receiver() as receiver, httpx.Client(base_url=base, timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get("/health")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline
                    time.sleep(0.3)
            http.post("/auth/register", json={"username": "jobber", "password": "long-enough-pw"})
            token = http.post(
                "/auth/login", json={"username": "jobber", "password": "long-enough-pw"}
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            hook = http.post(
                "/api/v1/webhooks",
                json={"url": receiver.url(), "events": ["training.started", "training.completed"]},
                headers=auth,
            ).json()

            url = f"{base}/api/system/task-events?token={token}"
            reader = threading.Thread(target=follow_sse, args=(url, events, "task_completed"), daemon=True)
            reader.start()
            time.sleep(0.5)
            body = {
                "model_type": "lightgbm",
                "model_name": "async_lgbm",
                "symbol": "AAPL",
                "parameters": {"n_estimators": 20},
                "async": True,
            }
            ticket = http.post("/api/v1/models/train", json=body, headers=auth)
            assert ticket.status_code == 202, ticket.text
            reader.join(timeout=120)
            types = [e["type"] for e in events]
            assert types[0] == "initial_state" and "task_queued" in types and "task_running" in types
            assert types[-1] == "task_completed" and events[-1]["data"]["status"] == "completed"
            job = http.get(f"/api/v1/jobs/{ticket.json()['job_id']}", headers=auth).json()
            assert job["status"] == "completed" and job["result"]["model_name"] == "async_lgbm"
            got = receiver.wait_for(2, timeout=30)
            kinds = [r.headers["X-Tradeforge-Event"] for r in got]
            assert kinds == ["training.started", "training.completed"]
            for r in got:
                verify_signature(hook["secret"], r.headers[SIGNATURE_HEADER], r.body)
            assert http.get("/api/v1/models/async_lgbm", headers=auth).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_one_worker_schedules_for_the_home(client: Any, trained_home: Any) -> None:
    """A second worker on the same home does not run a second scheduler (it would fail the first's
    running jobs as "interrupted"); jobs it accepts are run by the first."""
    from tests.serving_support import app_client

    assert client.app.state.container.leader is not None
    with app_client(trained_home) as second:
        assert second.app.state.container.leader is None
        user = make_user(second)
        body = {"symbol": "AAPL", "strategy": "buy_and_hold", "start_date": "2024-01-01", "async": True}
        ticket = second.post("/api/v1/backtest/run", json=body, headers=user["headers"])
        assert ticket.status_code == 202, ticket.text
        job = wait_for_job(second, ticket.json()["job_id"], user["headers"])
        assert job["status"] == "completed" and "metrics" in job["result"]
