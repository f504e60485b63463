"""Exchange API keys and the venue health checks over the real app: per-user keys, hints only,
soft delete, bad input refused with nothing stored, and Binance and 3Commas reached through a local
replay of their recorded answers (the secret never shows in an answer, a log line or the database)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pipelines.app.venue_health import SYNC_JOB_KIND
from pipelines.db import ExchangeKey, Job
from pipelines.db.types import utc_now
from pipelines.trading.credentials import KeyChange
from pipelines.trading.exchanges import Credentials
from serving.schemas.exchange_examples import KeyCreate, KeyUpdate
from tests.serving_support import app_client, assert_envelope, make_user, served_settings
from tests.trading.replay import Replay, replay_server

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    with replay_server() as server:
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, replay: Replay) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("keys") / "home"
    urls = {"binance": replay.url, "3commas": replay.url}
    settings = served_settings(home, exchange_api_urls=urls, max_exchange_keys_per_user=3)
    with app_client(settings) as c:
        yield c


def body(**fields: Any) -> dict[str, Any]:
    return {"provider_id": "binance", "api_key": KEY, "api_secret": SECRET, "label": "main", **fields}


def stored(app: Any) -> int:
    with app.app.state.container.database.session() as s:
        return int(s.scalar(select(func.count()).select_from(ExchangeKey)) or 0)


def test_keys_are_per_user_shown_as_hints_and_soft_deleted(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice, bob, admin = make_user(app), make_user(app), make_user(app, role="admin")
    created = app.post("/api/keys/", json=body(environment="live"), headers=alice["headers"])
    assert created.status_code == 201, created.text
    assert created.json()["message"] == "API key stored successfully"
    key_id = created.json()["id"]
    listed = app.get("/api/keys", headers=alice["headers"])  # without the trailing slash too
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row == {
        "id": key_id,
        "provider_id": "binance",
        "provider_name": "Binance",
        "environment": "live",
        "label": "main",
        "api_key_hint": "vmPU...Eh8A",
        "api_secret_hint": "NhqP...Tj0j",
        "created_at": row["created_at"],
    }
    assert row["created_at"].endswith("Z")
    assert app.get("/api/keys/", headers=bob["headers"]).json() == []
    assert key_id in {k["id"] for k in app.get("/api/keys/", headers=admin["headers"]).json()}

    # Another user's key does not exist for them; the owner and an admin change it.
    assert_envelope(
        app.put(f"/api/keys/{key_id}", json={"label": "x"}, headers=bob["headers"]), 404, "NOT_FOUND"
    )
    assert_envelope(app.delete(f"/api/keys/{key_id}", headers=bob["headers"]), 404, "NOT_FOUND")
    updated = app.put(f"/api/keys/{key_id}", json={"api_secret": "short7!"}, headers=alice["headers"])
    assert updated.status_code == 200 and updated.json() == {"message": "API key updated successfully"}
    (row,) = app.get("/api/keys/", headers=alice["headers"]).json()
    assert (
        row["api_secret_hint"] == "s...!" and row["api_key_hint"] == "vmPU...Eh8A" and row["label"] == "main"
    )
    assert app.put(f"/api/keys/{key_id}", json={"label": "ops"}, headers=admin["headers"]).status_code == 200

    deleted = app.delete(f"/api/keys/{key_id}", headers=alice["headers"])
    assert deleted.status_code == 200 and deleted.json() == {"message": "API key deleted successfully"}
    assert app.get("/api/keys/", headers=alice["headers"]).json() == []
    assert_envelope(app.delete(f"/api/keys/{key_id}", headers=alice["headers"]), 404, "NOT_FOUND")
    with app.app.state.container.database.session() as s:
        record = s.get(ExchangeKey, key_id)
        assert record is not None and not record.active and record.deactivated_at is not None
        assert SECRET not in repr(record) and KEY not in record.encrypted_key

    # Nowhere in the logs, nor in the database's file.
    assert SECRET not in caplog.text and KEY not in caplog.text
    database_file = Path(app.app.state.container.settings.home) / "app.db"
    assert SECRET.encode() not in database_file.read_bytes()


def test_bad_input_is_refused_and_nothing_stored(app: Any) -> None:
    user = make_user(app)
    before = stored(app)
    cases = [
        (body(provider_id="nasdaq-direct"), "unknown provider_id"),
        (body(api_key=""), "api_key is empty"),
        (body(label="x" * 101), "label"),
        (body(api_secret="y" * 5000), "api_secret"),
        (body(api_key="has space" + KEY), "api_key must be printable"),
        (body(provider_id="kraken", environment="testnet"), "no testnet"),
        (body(environment="paper"), "environment"),
        (body(extra="field"), "extra"),
    ]
    for payload, problem in cases:
        answer = app.post("/api/keys/", json=payload, headers=user["headers"])
        assert 400 <= answer.status_code < 500, (payload, answer.text)
        assert problem in answer.json()["detail"], answer.text
        assert SECRET not in answer.text and KEY not in answer.text and "yyyyyyyy" not in answer.text
    assert stored(app) == before
    key_id = app.post("/api/keys/", json=body(), headers=user["headers"]).json()["id"]
    assert app.get("/api/keys/", headers=user["headers"]).json()[0]["environment"] == "testnet"
    refused = app.put(f"/api/keys/{key_id}", json={"api_key": ""}, headers=user["headers"])
    assert_envelope(refused, 400, "INVALID_REQUEST")
    assert app.get("/api/keys/", headers=user["headers"]).json()[0]["api_key_hint"] == "vmPU...Eh8A"
    for _ in range(2):  # the per-user bound (3 in this app)
        assert app.post("/api/keys/", json=body(), headers=user["headers"]).status_code == 201
    assert_envelope(app.post("/api/keys/", json=body(), headers=user["headers"]), 409, "CONFLICT")
    assert_envelope(app.get("/api/keys/"), 401, "UNAUTHORIZED")


def test_health_connected_through_the_replayed_venues(app: Any, replay: Replay) -> None:
    user = make_user(app)
    made = app.post("/api/v1/auth/keys", json={"name": "bot"}, headers=user["headers"])
    api_key = {"X-API-Key": made.json()["key"]}  # the routes take an API key as well as a JWT
    for venue in ("binance", "3commas"):
        answer = app.get(f"/api/{venue}/health", headers=api_key)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["connected"] is False and data["reason"].startswith("no ") and data["balance"] is None
    for venue in ("binance", "3commas"):
        created = app.post("/api/keys/", json=body(provider_id=venue, environment="live"), headers=api_key)
        assert created.status_code == 201, created.text
    with app.app.state.container.database.transaction() as s:
        s.add(
            Job(
                kind=SYNC_JOB_KIND,
                status="completed",
                params={"source": "binance"},
                user_id=user["id"],
                finished_at=utc_now(),
            )
        )

    binance = app.get("/api/binance/health", headers=api_key).json()
    assert binance["status"] == "success" and binance["timestamp"].endswith("Z")
    assert binance["data"] | {"last_sync": None} == {
        "connected": True,
        "environment": "live",
        "account_type": "spot",
        "balance": "5000.00",
        "quote_asset": "USDT",
        "trading_enabled": True,
        "last_sync": None,
    }
    assert binance["data"]["last_sync"].endswith("Z")
    assert replay.requests[-1].headers["X-MBX-APIKEY"] == KEY  # a real signed call
    three = app.get("/api/3commas/health", headers=user["headers"]).json()["data"]
    assert three == {
        "connected": True,
        "environment": "live",
        "account_id": "31245678",
        "balance": "10234.56",
        "active_bots": 3,
        "last_sync": None,
    }


def test_health_of_a_refused_key_is_not_connected_with_the_reason(
    app: Any, replay: Replay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = make_user(app)
    for venue in ("binance", "3commas"):
        assert (
            app.post("/api/keys/", json=body(provider_id=venue), headers=user["headers"]).status_code == 201
        )
    replay.refuse = True
    try:
        binance = app.get("/api/binance/health", headers=user["headers"])
        three = app.get("/api/3commas/health", headers=user["headers"])
    finally:
        replay.refuse = False
    assert binance.status_code == 200 and three.status_code == 200
    data = binance.json()["data"]
    assert data["connected"] is False and data["environment"] == "testnet"
    assert "refused the credentials" in data["reason"] and "Invalid API-key" in data["reason"]
    assert data["balance"] is None and data["trading_enabled"] is None
    data = three.json()["data"]
    assert (
        data["connected"] is False and "signature_invalid" in data["reason"] and data["active_bots"] is None
    )
    for text in (binance.text, three.text, caplog.text):
        assert SECRET not in text and KEY not in text


def test_health_of_a_key_that_cannot_be_decrypted(app: Any) -> None:
    user = make_user(app)
    with app.app.state.container.database.transaction() as s:
        s.add(
            ExchangeKey(
                user_id=user["id"],
                provider_id="binance",
                environment="live",
                encrypted_key="x",
                encrypted_secret="y",
                key_hint="...",
                secret_hint="...",
            )
        )
    data = app.get("/api/binance/health", headers=user["headers"]).json()["data"]
    assert data["connected"] is False and "cannot be decrypted" in data["reason"]


def test_bodies_and_changes_never_print_their_credentials() -> None:
    made = KeyCreate(provider_id="binance", api_key="k-value-1", api_secret="s-value-1")
    shown = [
        repr(made),
        repr(KeyUpdate(api_key="k-value-1", api_secret="s-value-1")),
        repr(KeyChange("k-value-1", "s-value-1")),
    ]
    shown.append(repr(Credentials("k-value-1", "s-value-1")))
    assert all("value-1" not in text for text in shown), shown
