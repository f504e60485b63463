"""Auth over the real app: register/login/refresh, tokens, API keys, ownership, roles."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from serving import access
from tests.net_support import NO_REDIS, REDIS_URL, redis_up
from tests.serving_support import PASSWORD, SECRET, app_client, assert_envelope, make_user


def test_register_login_refresh_flow(client: Any) -> None:
    r = client.post(
        "/auth/register",
        json={
            "username": "carol",
            "email": "carol@example.com",
            "password": "long-enough-pw",
            "full_name": "Carol",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["username"] == "carol" and created["email"] == "carol@example.com" and created["id"]
    assert "password" not in str(created) and "hash" not in str(created)
    assert_envelope(
        client.post("/auth/register", json={"username": "carol", "password": "long-enough-pw"}),
        409,
        "CONFLICT",
    )
    bad = client.post("/auth/register", json={"username": "dave", "password": "short"})
    assert "password" in assert_envelope(bad, 400, "INVALID_REQUEST")["error"]["message"]

    login = client.post("/auth/login", json={"username": "carol", "password": "long-enough-pw"})
    assert login.status_code == 200
    tokens = login.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 1800
    claims = jwt.decode(tokens["access_token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == created["id"] and claims["type"] == "access"

    refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.json()["access_token"]
    # An access token is not a refresh token, and vice versa.
    assert_envelope(
        client.post("/auth/refresh", json={"refresh_token": tokens["access_token"]}), 401, "UNAUTHORIZED"
    )
    refresh_as_bearer = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert_envelope(client.get("/api/v1/models", headers=refresh_as_bearer), 401, "UNAUTHORIZED")

    legacy = client.post("/api/auth/login", json={"username": "carol", "password": "long-enough-pw"})
    assert legacy.status_code == 200 and legacy.json()["status"] == "success"
    assert legacy.json()["data"]["token"]


def test_wrong_password_and_unknown_user_answer_alike(client: Any) -> None:
    make = make_user(client)
    wrong = assert_envelope(
        client.post("/auth/login", json={"username": make["username"], "password": "x" * 9}),
        401,
        "UNAUTHORIZED",
    )
    unknown = assert_envelope(
        client.post("/auth/login", json={"username": "nobody-here", "password": "x" * 9}), 401, "UNAUTHORIZED"
    )
    assert wrong["error"]["message"] == unknown["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "tf_not_a_real_key"},
        {
            "Authorization": "Bearer "
            + jwt.encode({"sub": "x", "type": "access", "jti": "j", "iat": 1, "exp": 2}, SECRET)
        },
        {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "x", "type": "access", "jti": "j", "iat": 1, "exp": 4102444800},
                "other-key-0123456789-0123456789-xx",
            )
        },
    ],
    ids=["none", "garbage", "basic", "bad-key", "expired", "forged"],
)
def test_protected_routes_refuse_bad_credentials(client: Any, headers: dict[str, str]) -> None:
    body = assert_envelope(client.get("/api/v1/models", headers=headers), 401, "UNAUTHORIZED")
    assert "secret" not in body["error"]["message"].lower()


def test_a_verified_token_is_reused_until_its_expiry_then_checked_again(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(client)
    real_decode, real_time = access.decode_token, time.time
    decoded: list[str] = []

    def counting(token: str, secret: str, expected: Any) -> Any:
        decoded.append(token)
        return real_decode(token, secret, expected)

    monkeypatch.setattr(access, "decode_token", counting)
    for _ in range(3):
        assert client.get("/api/v1/auth/me", headers=user["headers"]).status_code == 200
    assert len(decoded) == 1  # verified once, then reused

    class AnHourLater:  # past the token's 30 minutes: the cached claims are no longer trusted
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def time() -> float:
            return real_time() + 3600

    monkeypatch.setattr(access, "time", AnHourLater)
    client.get("/api/v1/auth/me", headers=user["headers"])
    assert len(decoded) == 2


def test_public_routes_need_no_credentials(client: Any) -> None:
    for path in ("/", "/health", "/api/v1/health", "/metrics", "/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_api_keys_are_shown_once_owned_and_revocable(client: Any) -> None:
    alice, bob = make_user(client), make_user(client)
    created = client.post("/api/v1/auth/keys", json={"name": "bot"}, headers=alice["headers"])
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("tf_") and created.json()["prefix"] == key[: len(created.json()["prefix"])]
    listed = client.get("/api/v1/auth/keys", headers=alice["headers"]).json()
    assert listed["count"] == 1 and "key" not in listed["keys"][0]
    assert key not in str(listed)
    assert client.get("/api/v1/auth/keys", headers=bob["headers"]).json()["count"] == 0

    by_key = client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert by_key.status_code == 200 and by_key.json()["username"] == alice["username"]
    assert by_key.json()["authenticated_via"] == "api_key"

    key_id = created.json()["id"]
    assert_envelope(client.delete(f"/api/v1/auth/keys/{key_id}", headers=bob["headers"]), 403, "FORBIDDEN")
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 200  # still valid
    revoked = client.delete(f"/api/v1/auth/keys/{key_id}", headers=alice["headers"])
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert_envelope(client.get("/api/v1/auth/me", headers={"X-API-Key": key}), 401, "UNAUTHORIZED")
    assert_envelope(client.delete("/api/v1/auth/keys/no-such-id", headers=alice["headers"]), 404, "NOT_FOUND")


def test_admin_sees_every_key_and_can_revoke_them(client: Any) -> None:
    user, admin = make_user(client), make_user(client, role="admin")
    key_id = client.post("/api/v1/auth/keys", json={"name": "k"}, headers=user["headers"]).json()["id"]
    ids = {k["id"] for k in client.get("/api/v1/auth/keys", headers=admin["headers"]).json()["keys"]}
    assert key_id in ids
    assert client.delete(f"/api/v1/auth/keys/{key_id}", headers=admin["headers"]).status_code == 200


def test_users_see_only_their_own_predictions(client: Any) -> None:
    alice, bob = make_user(client), make_user(client)
    assert (
        client.post(
            "/api/v1/predictions/predict", json={"model_name": "lgbm_aapl"}, headers=alice["headers"]
        ).status_code
        == 200
    )
    mine = client.get("/api/v1/monitoring/predictions/recent", headers=alice["headers"]).json()["predictions"]
    theirs = client.get("/api/v1/monitoring/predictions/recent", headers=bob["headers"]).json()["predictions"]
    assert len(mine) == 1 and mine[0]["user_id"] == alice["id"]
    assert theirs == []


def test_password_is_stored_hashed(client: Any) -> None:
    from pipelines.db import get_user_by_username

    made = make_user(client)
    with client.app.state.container.database.session() as session:
        stored = get_user_by_username(session, made["username"])
        assert stored is not None and stored.password_hash.startswith("$argon2")
        assert PASSWORD not in stored.password_hash


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_a_revoked_key_is_refused_at_once_by_every_worker(trained_home: Any) -> None:
    """Workers cache a key for 30 s; a revocation on one worker reaches the others through Redis."""
    settings = trained_home.model_copy(update={"redis_url": REDIS_URL})
    with app_client(settings) as first, app_client(settings) as second:
        user = make_user(first)
        created = first.post("/api/v1/auth/keys", json={"name": "shared"}, headers=user["headers"]).json()
        headers = {"X-API-Key": created["key"]}
        assert second.get("/api/v1/auth/me", headers=headers).status_code == 200  # now cached there
        assert first.delete(f"/api/v1/auth/keys/{created['id']}", headers=user["headers"]).status_code == 200
        deadline = time.monotonic() + 5  # the relay is asynchronous: milliseconds, not the cache's 30 s
        while (answer := second.get("/api/v1/auth/me", headers=headers)).status_code == 200:
            assert time.monotonic() < deadline, "the other worker still accepts the revoked key"
            time.sleep(0.02)
        assert_envelope(answer, 401, "UNAUTHORIZED")
