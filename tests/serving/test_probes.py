"""Probes and scrapes: never rate-limited, liveness without backing services, readiness with them,
the slow checks cached and computed once for concurrent callers; /info and /metrics disclose only
what the caller may see."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

import serving.providers.health
from serving.app import create_app
from serving.probes import HealthCache
from tests.serving_support import app_client, assert_envelope, make_user, served_settings

PROBES = (
    "/health",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/docs/static/swagger-ui/favicon-32x32.png",
    "/schema/openapi.json",
)


@pytest.fixture
def registry_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per query of the MLflow registry by the health checks."""
    calls: list[int] = []
    real = serving.providers.health.list_models

    def counting(tracker: Any) -> Any:
        calls.append(1)
        return real(tracker)

    monkeypatch.setattr(serving.providers.health, "list_models", counting)
    return calls


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    with app_client(served_settings(tmp_path / "home")) as c:  # free tier: 100 requests an hour
        yield c


def test_probes_and_scrapes_are_never_rate_limited(client: Any) -> None:
    for path in PROBES:
        codes = {client.get(path).status_code for _ in range(150)}
        assert codes == {200}, path
    # The limit itself still holds for the other routes of the same anonymous caller.
    assert {client.get("/").status_code for _ in range(101)} == {200, 429}


def test_liveness_touches_no_backing_service(client: Any, registry_calls: list[int]) -> None:
    answer = client.get("/health/live")
    assert answer.status_code == 200
    assert answer.json()["status"] == "alive" and answer.json()["version"]
    assert registry_calls == []


def test_health_keeps_its_body_and_caches_the_registry_check(client: Any, registry_calls: list[int]) -> None:
    first, second = client.get("/health").json(), client.get("/health").json()
    assert len(registry_calls) == 1
    assert first["status"] == second["status"] == "healthy"
    assert set(first) == {
        "status",
        "timestamp",
        "version",
        "uptime_seconds",
        "models_loaded",
        "services",
        "system",
    }
    assert first["services"]["ml_engine"] == "healthy" and first["system"]["memory_total_gb"] > 0
    assert client.get("/health/ready").json()["status"] == "ready"
    assert len(registry_calls) == 1  # readiness shares the cached checks


def test_concurrent_probes_share_one_check(tmp_path: Path, registry_calls: list[int]) -> None:
    async def run() -> list[int]:
        async with AsyncTestClient(create_app(served_settings(tmp_path / "home"))) as c:
            answers = await asyncio.gather(*(c.get("/health") for _ in range(32)))
            return [a.status_code for a in answers]

    assert asyncio.run(run()) == [200] * 32
    assert len(registry_calls) == 1


def test_checks_are_recomputed_after_the_interval(tmp_path: Path, registry_calls: list[int]) -> None:
    with app_client(served_settings(tmp_path / "home", health_cache_seconds=0)) as c:
        c.get("/health")
        c.get("/health")
    assert len(registry_calls) == 2


def test_ready_is_503_when_the_database_is_unreadable(client: Any) -> None:
    services = client.app.state.container
    database = Path(services.settings.resolved_database_url().removeprefix("sqlite:///"))
    corrupted = database.with_name("corrupted.db")
    corrupted.write_bytes(b"not a database " * 512)  # every connection opened on it fails
    for companion in (database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        companion.unlink(missing_ok=True)
    corrupted.replace(database)  # at once, so a background thread never reconnects to a half-written file
    services.database.engine.dispose()  # pooled connections still held the file that was replaced
    body = assert_envelope(client.get("/health/ready"), 503, "SERVICE_UNAVAILABLE")
    assert body["error"]["details"]["database"].startswith("unhealthy")
    assert "database" in body["error"]["message"]
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "degraded"  # its documented body
    assert client.get("/health/live").status_code == 200


def test_metrics_token_protects_metrics(tmp_path: Path) -> None:
    with app_client(served_settings(tmp_path / "home", metrics_token="scrape-me")) as c:
        assert_envelope(c.get("/metrics"), 401, "UNAUTHORIZED")
        assert_envelope(c.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401, "UNAUTHORIZED")
        scraped = c.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert scraped.status_code == 200 and "tradeforge_" in scraped.text
        assert c.get("/health").status_code == 200  # the probes stay open


def test_info_shows_configuration_to_admins_only(client: Any) -> None:
    settings = client.app.state.container.settings
    anonymous = client.get("/info").json()
    user = client.get("/info", headers=make_user(client)["headers"]).json()
    for body in (anonymous, user):
        assert set(body) == {
            "name",
            "version",
            "started_at",
            "uptime_seconds",
            "models_loaded",
            "strategies",
            "model_types",
            "timestamp",
        }
        text = str(body)
        assert str(settings.home.resolve()) not in text and "sqlite" not in text and "process_id" not in text
    admin = client.get("/info", headers=make_user(client, role="admin")["headers"]).json()
    assert admin["configuration"]["home"] == str(settings.home)
    assert admin["system"]["process_id"] > 0


def test_a_stale_value_is_answered_while_one_refresh_runs() -> None:
    calls: list[int] = []

    def check() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    async def run() -> list[dict[str, Any]]:
        cache = HealthCache(check, ttl_seconds=1.0)
        seen = [await cache.get()]
        await asyncio.sleep(1.1)  # stale, but younger than three intervals
        seen += await asyncio.gather(*(cache.get() for _ in range(8)))  # answered at once, one refresh
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        seen.append(await cache.get())
        return seen

    seen = asyncio.run(run())
    assert [s["n"] for s in seen] == [1] * 9 + [2]
    assert len(calls) == 2
