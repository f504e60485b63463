"""Shared set-up for the API tests: a home with trained champions, app clients, users and tokens."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from pipelines.app.accounts import register_user
from pipelines.app.train import plan_training, train_model
from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings
from serving.app import create_app
from tests.net_support import free_port

HISTORY_START = "2022-01-01"
SECRET = "test-secret-key-for-jwt-signing-0123456789"
PASSWORD = "correct-horse-battery"
MODELS = {  # name -> (kind, symbol, params)
    "lgbm_aapl": ("lightgbm", "AAPL", {"n_estimators": 30, "num_leaves": 7}),
    "xgb_aapl": ("xgboost", "AAPL", {"n_estimators": 30, "max_depth": 3}),
}
_names = itertools.count()


def served_settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, history_start=HISTORY_START, secret_key=SECRET, **overrides)


def train_models(settings: Settings) -> None:
    tracker = open_tracker(settings)
    for name, (kind, symbol, params) in MODELS.items():
        train_model(
            settings,
            plan_training(settings, model_type=kind, model_name=name, symbol=symbol, params=params),
            tracker,
        )


@contextmanager
def app_client(settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings)) as client:
        yield client


def make_user(client: TestClient[Any], *, role: str = "user", tier: str = "enterprise") -> dict[str, Any]:
    """A new user straight in the app DB (any role and tier), logged in: id, username, headers."""
    services = client.app.state.container
    username = f"user{next(_names)}_{role}"
    with services.database.transaction() as session:
        user = register_user(session, username, PASSWORD, role=role, tier=tier)
        user_id = user.id
    answer = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    return {
        "id": user_id,
        "username": username,
        "headers": {"Authorization": f"Bearer {token}"},
        "refresh_token": answer.json()["refresh_token"],
    }


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    """The DESIGN.md error envelope, with its request id matching the X-Request-ID header."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert body["error"]["message"] and body["detail"] == body["error"]["message"]
    assert body["status_code"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["timestamp"].endswith("Z")
    return body


def wait_for_job(client: Any, job_id: str, headers: dict[str, str], timeout: float = 90.0) -> dict[str, Any]:
    """Poll ``GET /api/v1/jobs/{id}`` until the job has finished; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


@contextmanager
def uvicorn_thread(app: Litestar, **config: Any) -> Iterator[int]:
    """``app`` on a real uvicorn server in a thread (``config``: more ``uvicorn.Config`` options);
    yields its port once it serves, and stops it afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
