"""Rate limits (memory and Redis), the error envelope on bad input everywhere, request ids, CORS,
metrics, and the PostgreSQL app database."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.net_support import REDIS_URL
from tests.serving_support import app_client, assert_envelope, make_user, served_settings


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


BODY_ENDPOINTS = [
    "/auth/register",
    "/auth/login",
    "/auth/refresh",
    "/api/auth/login",
    "/api/v1/auth/keys",
    "/api/v1/models/train",
    "/api/v1/predict",
    "/api/v1/predict/batch",
    "/api/v1/predictions/predict",
    "/api/v1/predictions/predict/batch",
    "/api/v1/predictions/predict/ensemble",
    "/api/v1/backtest/run",
    "/api/v1/backtest/compare",
    "/api/v1/backtest/walk-forward",
]


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize(
    "payload", [b"{not json", b"[]", b'{"unexpected_field": 1}'], ids=["malformed", "array", "unknown-field"]
)
def test_bad_bodies_get_a_400_envelope(client: Any, path: str, payload: bytes) -> None:
    user = make_user(client) if path.startswith("/api/v1/") else {"headers": {}}
    headers = {**user["headers"], "Content-Type": "application/json"}
    response = client.post(path, content=payload, headers=headers)
    if payload.startswith(b"{not"):
        assert "JSON is malformed" in assert_envelope(response, 400, "INVALID_REQUEST")["error"]["message"]
    else:
        assert assert_envelope(response, 400, "VALIDATION_ERROR")["error"]["details"]["errors"]


@pytest.mark.parametrize(
    ("path", "payload", "needle"),
    [
        ("/api/v1/predictions/predict", {"model_name": "lgbm_aapl", "days_lookback": 0}, "days_lookback"),
        ("/api/v1/predictions/predict", {"model_name": "lgbm_aapl", "symbol": "??"}, "symbol"),
        ("/api/v1/predict", {"symbol": "AAPL", "model": "lgbm_aapl", "timeframe": "1h"}, "1h"),
        ("/api/v1/predict/batch", {"symbols": [], "model": "lgbm_aapl"}, "symbols"),
        ("/api/v1/backtest/run", {"symbol": "AAPL", "strategy": "nope"}, "nope"),
        (
            "/api/v1/backtest/run",
            {"symbol": "AAPL", "strategy": "sma_cross", "params": {"fast": 30, "slow": 10}},
            "fast",
        ),
        (
            "/api/v1/backtest/run",
            {"symbol": "AAPL", "model_name": "lgbm_aapl", "commission": -1},
            "commission",
        ),
        (
            "/api/v1/backtest/run",
            {"symbol": "AAPL", "strategy": "sma_cross", "start_date": "2024-02-01", "end_date": "2024-01-01"},
            "start",
        ),
        ("/api/v1/models/train", {"model_type": "deep_magic", "symbol": "AAPL"}, "deep_magic"),
        (
            "/api/v1/models/train",
            {"model_type": "lightgbm", "symbol": "AAPL", "validation_split": 1.5},
            "validation_split",
        ),
    ],
)
def test_domain_bad_input_is_a_clear_400(
    client: Any, path: str, payload: dict[str, Any], needle: str
) -> None:
    user = make_user(client)
    before = client.get("/api/v1/models", headers=user["headers"]).json()["pagination"]["total_items"]
    r = client.post(path, json=payload, headers=user["headers"])
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and body["error"]["code"] in (
        "INVALID_REQUEST",
        "VALIDATION_ERROR",
        "INVALID_SYMBOL",
    )
    assert needle in body["error"]["message"]
    after = client.get("/api/v1/models", headers=user["headers"]).json()["pagination"]["total_items"]
    assert after == before  # nothing registered


def test_unknown_route_and_method(client: Any) -> None:
    body = assert_envelope(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    assert body["request_id"].startswith("req_")
    r = client.get("/api/v1/nothing-here")
    assert "x-ratelimit-limit" in r.headers
    assert_envelope(client.put("/api/v1/health"), 405, "METHOD_NOT_ALLOWED")


def test_request_id_is_echoed_or_made(client: Any) -> None:
    assert client.get("/", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert made.startswith("req_")


def test_cors_allows_configured_origins_only(client: Any) -> None:
    ok = client.get("/", headers={"Origin": "http://localhost:3000"})
    assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
    other = client.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_prometheus_metrics(client: Any) -> None:
    user = make_user(client)
    client.post("/api/v1/predictions/predict", json={"model_name": "lgbm_aapl"}, headers=user["headers"])
    text = client.get("/metrics").text
    assert (
        'tradeforge_http_requests_total{method="POST",route="/api/v1/predictions/predict",status="200"}'
        in text
    )
    assert "tradeforge_http_request_duration_seconds_bucket" in text
    assert 'tradeforge_predictions_total{model="lgbm_aapl"' in text
    assert 'tradeforge_model_load_seconds{model="lgbm_aapl",version="1"}' in text
    # Live streams: the worker's own relays (job events, key revocations) and open WebSocket streams.
    assert 'tradeforge_stream_subscriptions{kind="jobs"} 1.0' in text
    assert 'tradeforge_stream_subscriptions{kind="auth"} 1.0' in text
    token = user["headers"]["Authorization"].split()[1]
    with client.websocket_connect(f"/api/v1/ws/prices/AAPL?token={token}") as ws:
        assert ws.receive_json()["type"] == "authenticated"
        assert ws.receive_json()["type"] == "price_update"
        assert 'tradeforge_stream_subscriptions{kind="prices"} 1.0' in client.get("/metrics").text
    assert "tradeforge_sse_streams 0.0" in text and "tradeforge_ws_slow_consumers_total 0.0" in text


def test_openapi_documents_every_route(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/predict",
        "/api/v1/predictions/predict",
        "/api/v1/models/train",
        "/api/v1/backtest/run",
        "/api/v1/monitoring/dashboard",
        "/auth/login",
        "/api/v1/market/quote/{symbol}",
    ):
        assert path in paths, path
    train = paths["/api/v1/models/train"]["post"]
    assert train["requestBody"]["content"]["application/json"]["schema"]


def _limited_app(tmp_path: Path, **overrides: Any) -> Any:
    return app_client(
        served_settings(tmp_path / "home", rate_limits={"free": 3, "pro": 5, "enterprise": None}, **overrides)
    )


def test_rate_limit_per_user_tier(tmp_path: Path) -> None:
    with _limited_app(tmp_path) as c:
        free = make_user(c, tier="free")
        seen = [c.get("/api/v1/backtest/metrics", headers=free["headers"]) for _ in range(4)]
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["x-ratelimit-remaining"] for r in seen[:3]] == ["2", "1", "0"]
        body = assert_envelope(seen[3], 429, "RATE_LIMITED")
        assert int(seen[3].headers["retry-after"]) > 0 and body["error"]["details"]["limit"] == 3
        other = make_user(c, tier="pro")  # limits are per user
        assert c.get("/api/v1/backtest/metrics", headers=other["headers"]).headers["x-ratelimit-limit"] == "5"
        unlimited = make_user(c, tier="enterprise")
        r = c.get("/api/v1/backtest/metrics", headers=unlimited["headers"])
        assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "unlimited"


@pytest.mark.redis
@pytest.mark.skipif(not _reachable(6379), reason="no Redis server on 127.0.0.1:6379")
def test_rate_limit_shared_through_redis(tmp_path: Path) -> None:
    """Two app instances (two workers) on one Redis count one user's requests together."""
    url = REDIS_URL
    # Anonymous calls (the login) count per address across test runs: only the pro tier is tight.
    limits = {"free": 100_000, "pro": 4, "enterprise": None}
    settings = served_settings(tmp_path / "home", rate_limits=limits, redis_url=url)
    with app_client(settings) as first, app_client(settings) as second:
        user = make_user(first, tier="pro")
        codes = [
            c.get("/api/v1/backtest/metrics", headers=user["headers"]).status_code
            for c in (first, second) * 3
        ]
        assert codes == [200, 200, 200, 200, 429, 429]
        assert first.get("/api/v1/health").json()["services"]["cache"] == "healthy"


@pytest.mark.postgres
@pytest.mark.skipif(not _reachable(5432), reason="no PostgreSQL server on 127.0.0.1:5432")
def test_app_state_in_postgresql(tmp_path: Path) -> None:
    import psycopg

    name = f"tradeforge_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        with app_client(served_settings(tmp_path / "home", database_url=url)) as c:
            r = c.post("/auth/register", json={"username": "pguser", "password": "long-enough-pw"})
            assert r.status_code == 201, r.text
            login = c.post("/auth/login", json={"username": "pguser", "password": "long-enough-pw"})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            key = c.post("/api/v1/auth/keys", json={"name": "pg"}, headers=headers).json()["key"]
            system = c.get("/api/v1/monitoring/system", headers={"X-API-Key": key})
            assert system.status_code == 200 and system.json()["total_api_calls"] >= 1
            assert c.get("/api/v1/health").json()["services"]["database"] == "healthy"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
