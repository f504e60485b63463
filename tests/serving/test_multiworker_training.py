"""Two ``tradeforge serve`` processes on one home race to train the same model: exactly one trains,
the other answers 409 CONFLICT, and the claim is released for the next training. On SQLite and on
the local PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.db.support import pg_server, scratch_database
from tests.net_support import free_port, wait_http
from tests.serving_support import SECRET

__all__ = ["pg_server"]  # the PostgreSQL fixture, for the parametrized test below

BODY = {
    "model_type": "lightgbm",
    "model_name": "contested_model",
    "symbol": "AAPL",
    "parameters": {"n_estimators": 50, "num_leaves": 7},
}


@contextmanager
def _serve(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    exe = Path(sys.executable).with_name("tradeforge")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health/live", proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _race(env: dict[str, str]) -> None:
    with ExitStack() as stack:
        first, second = stack.enter_context(_serve(env)), stack.enter_context(_serve(env))
        account = {"username": "racer", "password": "long-enough-pw"}
        assert httpx.post(f"{first}/auth/register", json=account, timeout=30).status_code == 201
        token = httpx.post(f"{first}/auth/login", json=account, timeout=30).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        barrier = threading.Barrier(2)
        answers: dict[str, httpx.Response] = {}

        def train(base: str) -> None:
            barrier.wait()
            answers[base] = httpx.post(f"{base}/api/v1/models/train", json=BODY, headers=auth, timeout=300)

        threads = [threading.Thread(target=train, args=(base,)) for base in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=320)
        statuses = sorted(r.status_code for r in answers.values())
        assert statuses == [200, 409], [r.text for r in answers.values()]
        refused = next(r for r in answers.values() if r.status_code == 409).json()
        assert refused["error"]["code"] == "CONFLICT"
        assert refused["error"]["message"] == "model 'contested_model' is being trained already"
        # The claim was released: the model trains again, on either worker.
        again = httpx.post(f"{second}/api/v1/models/train", json=BODY, headers=auth, timeout=300)
        assert again.status_code == 200, again.text
        listed = httpx.get(f"{first}/api/v1/models", headers=auth, timeout=30).json()["models"]
        assert [m["status"] for m in listed if m["name"] == "contested_model"] == ["active"]


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRADEFORGE_HOME": str(home),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "TRADEFORGE_HISTORY_START": "2023-01-01",
        **extra,
    }


def test_two_workers_on_sqlite_train_a_model_once(tmp_path: Path) -> None:
    _race(_env(tmp_path / "home"))


@pytest.mark.postgres
def test_two_workers_on_postgres_train_a_model_once(tmp_path: Path, pg_server: Engine) -> None:
    with scratch_database(pg_server) as url:
        _race(_env(tmp_path / "home", TRADEFORGE_DATABASE_URL=url))
