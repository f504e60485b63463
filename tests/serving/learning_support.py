"""Shared steps of the training platform's API tests: generated datasets, the SDK's calls, polling."""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pandas as pd

from pipelines.db import User
from tests.serving_support import PASSWORD

__all__ = ["classification_csv", "login", "regression_csv", "settle_training", "upload_ready"]


def classification_csv(rows: int = 600, seed: int = 0) -> tuple[bytes, np.ndarray]:
    """A clear-cut two-class table: ``cat`` when f0 + f1 > 0, with a margin between the classes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows * 2, 4))
    score = x[:, 0] + x[:, 1]
    x = x[np.abs(score) > 0.4][:rows]
    labels = np.where(x[:, 0] + x[:, 1] > 0, "cat", "dog")
    frame = pd.DataFrame(x, columns=["f0", "f1", "f2", "f3"]).assign(label=labels)
    return frame.to_csv(index=False).encode(), x


def regression_csv(rows: int = 500, seed: int = 1) -> tuple[bytes, np.ndarray]:
    """``y = 3 f0 - 2 f1 + 0.5`` with a little noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 0.5 + rng.normal(scale=0.05, size=rows)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=y)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode(), x


def login(client: Any, username: str) -> dict[str, str]:
    """Register through the API (POST /auth/register), log in, and the bearer headers."""
    created = client.post(
        "/auth/register",
        json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
    )
    assert created.status_code == 201, created.text
    with client.app.state.container.database.transaction() as session:  # polling needs a high tier
        session.get(User, created.json()["id"]).tier = "enterprise"
    answer = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def upload_ready(client: Any, headers: dict[str, str], name: str, content: bytes, kind: str) -> str:
    """Upload a CSV dataset and wait until it is ready; its id."""
    answer = client.post(
        "/datasets/upload",
        files={"file": (f"{name}.csv", content)},
        data={"name": name, "dataset_type": kind},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    dataset_id: str = answer.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/datasets/{dataset_id}", headers=headers).json()["status"] == "processing":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return dataset_id


def settle_training(
    client: Any, headers: dict[str, str], job_id: str, timeout: float = 120.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll GET /training/status until the job has finished: its last status and every one seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/training/status/{job_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        if seen[-1]["status"] in ("completed", "failed", "stopped"):
            return seen[-1], seen
        assert time.monotonic() < deadline, seen[-1]
        time.sleep(0.05)
