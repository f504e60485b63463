"""/api/status and /api/health against a real Redis: its memory and key count, and its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.net_support import NO_REDIS, REDIS_URL, redis_up
from tests.serving_support import app_client, make_user, served_settings


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_status_reads_redis_memory_and_keys(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", redis_url=REDIS_URL, environment="staging")
    with app_client(settings) as client:
        user = make_user(client)
        answer = client.get("/api/status", headers=user["headers"])
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["environment"] == "staging"
        redis = data["services"]["redis"]
        assert redis["status"] == "healthy" and redis["keys"] >= 0
        assert redis["memory_usage"][-1] in "BKMG"  # Redis's human-readable figure, e.g. 1.11M
        database = data["services"]["database"]
        assert database["status"] == "healthy" and 0 <= database["connections"] <= database["max_connections"]
        health = client.get("/api/health").json()
        assert health["services"]["redis"] == "healthy" and health["status"] == "healthy"
