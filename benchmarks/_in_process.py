"""Helpers of the benchmarks that call the real app in process (Litestar's test client)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def p50_ms(fn: Callable[[], Any], repeat: int) -> float:
    """The median of ``repeat`` timed calls of ``fn``, in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def login(client: Any, username: str, password: str) -> dict[str, str]:
    """A bearer token of a new enterprise-tier user (unlimited: every call still authenticates and
    passes the limiter)."""
    from pipelines.app.accounts import register_user

    with client.app.state.container.database.transaction() as session:
        register_user(session, username, password, role="user", tier="enterprise")
    answer = client.post("/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
