"""The Python client against httpx.MockTransport: requests sent, answers and errors decoded."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from serving.client import (
    AuthenticationFailed,
    Client,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TradeforgeAPIError,
)

API_KEY = "tf_live_secret_key_123"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token"


class Server:
    """Records every request and answers with the queued responses (200 ``{"ok": true}`` by default)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if self.answers else httpx.Response(200, json={"ok": True})

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def client(self, **kwargs: Any) -> Client:
        return Client("http://api.test", transport=httpx.MockTransport(self), **kwargs)


@pytest.fixture
def server() -> Server:
    return Server()


def envelope(code: str, message: str, status: int, details: Any = None, request_id: str = "req_1") -> Any:
    return {
        "status": "error",
        "error": {"code": code, "message": message, "details": details or {}},
        "detail": message,
        "status_code": status,
        "request_id": request_id,
        "timestamp": "2025-01-01T00:00:00Z",
    }


def test_credentials_headers(server: Server) -> None:
    server.client(api_key=API_KEY).health()
    assert server.last.headers["X-API-Key"] == API_KEY and "Authorization" not in server.last.headers
    assert server.last.headers["User-Agent"].startswith("tradeforge-client/")
    server.client(token=TOKEN).health()
    assert server.last.headers["Authorization"] == f"Bearer {TOKEN}"
    server.client(api_key=API_KEY, token=TOKEN).health()  # the token wins
    assert (
        server.last.headers["Authorization"] == f"Bearer {TOKEN}" and "X-API-Key" not in server.last.headers
    )
    server.client().health()
    assert "Authorization" not in server.last.headers and "X-API-Key" not in server.last.headers


CALLS: list[tuple[str, Callable[[Client], Any], str, str, dict[str, str], Any]] = [
    (
        "predict",
        lambda c: c.predict("AAPL"),
        "POST",
        "/api/v1/predict",
        {},
        {"symbol": "AAPL", "timeframe": "1d"},
    ),
    (
        "predict model",
        lambda c: c.predict("AAPL", model="random_forest", timeframe="1h", features={"volume": True}),
        "POST",
        "/api/v1/predict",
        {},
        {"symbol": "AAPL", "model": "random_forest", "timeframe": "1h", "features": {"volume": True}},
    ),
    (
        "predict_signal",
        lambda c: c.predict_signal("ensemble_spy", "SPY"),
        "POST",
        "/api/v1/predictions/predict",
        {},
        {"model_name": "ensemble_spy", "symbol": "SPY", "days_lookback": 60},
    ),
    (
        "predict_batch",
        lambda c: c.predict_batch(("AAPL", "MSFT"), model="m1"),
        "POST",
        "/api/v1/predictions/predict/batch",
        {},
        {"symbols": ["AAPL", "MSFT"], "model_name": "m1"},
    ),
    (
        "predict_batch model_name",
        lambda c: c.predict_batch(["SPY"], model_name="m2", days_lookback=30),
        "POST",
        "/api/v1/predictions/predict/batch",
        {},
        {"symbols": ["SPY"], "model_name": "m2", "days_lookback": 30},
    ),
    (
        "predict_ensemble",
        lambda c: c.predict_ensemble(["a", "b"], "SPY", weights=(0.7, 0.3)),
        "POST",
        "/api/v1/predictions/predict/ensemble",
        {},
        {"model_names": ["a", "b"], "symbol": "SPY", "weights": [0.7, 0.3]},
    ),
    (
        "signals",
        lambda c: c.signals("m1", "BTC/USDT", days=7),
        "GET",
        "/api/v1/predictions/models/m1/signals/BTC_USDT",
        {"days": "7"},
        None,
    ),
    (
        "train_model",
        lambda c: c.train_model(
            "xgboost",
            model_name="xgb_spy",
            symbol="SPY",
            start_date=date(2022, 1, 1),
            end_date="2024-01-01",
            parameters={"max_depth": 4},
            validation_split=0.2,
            gpu_enabled=False,
        ),
        "POST",
        "/api/v1/models/train",
        {},
        {
            "model_type": "xgboost",
            "model_name": "xgb_spy",
            "symbol": "SPY",
            "start_date": "2022-01-01",
            "end_date": "2024-01-01",
            "parameters": {"max_depth": 4},
            "validation_split": 0.2,
            "gpu_enabled": False,
        },
    ),
    (
        "train_model minimal",
        lambda c: c.train_model("xgboost", dataset="market_2024"),
        "POST",
        "/api/v1/models/train",
        {},
        {"model_type": "xgboost", "dataset": "market_2024"},
    ),
    ("models", lambda c: c.models(), "GET", "/api/v1/models", {"page": "1", "limit": "20"}, None),
    (
        "models filtered",
        lambda c: c.models(category="ml", status="active", page=2, limit=5),
        "GET",
        "/api/v1/models",
        {"category": "ml", "status": "active", "page": "2", "limit": "5"},
        None,
    ),
    ("model", lambda c: c.model("my model"), "GET", "/api/v1/models/my%20model", {}, None),
    ("delete_model", lambda c: c.delete_model("m1"), "DELETE", "/api/v1/models/m1", {}, None),
    ("reload_model", lambda c: c.reload_model("m1"), "POST", "/api/v1/models/m1/reload", {}, None),
    (
        "backtest",
        lambda c: c.backtest(model_name="m1", symbol="SPY", initial_capital=100000, commission=0.001),
        "POST",
        "/api/v1/backtest/run",
        {},
        {"model_name": "m1", "symbol": "SPY", "initial_capital": 100000, "commission": 0.001},
    ),
    (
        "compare",
        lambda c: c.compare(["m1", "m2"], "SPY", start_date="2023-01-01"),
        "POST",
        "/api/v1/backtest/compare",
        {},
        {"model_names": ["m1", "m2"], "symbol": "SPY", "start_date": "2023-01-01"},
    ),
    (
        "walk_forward",
        lambda c: c.walk_forward(model_name="m1", symbol="SPY", train_window=252, test_window=63),
        "POST",
        "/api/v1/backtest/walk-forward",
        {},
        {"model_name": "m1", "symbol": "SPY", "train_window": 252, "test_window": 63},
    ),
    (
        "optimize",
        lambda c: c.optimize("sma_cross", "SPY", {"fast": "5:50"}, trials=20, run_async=True),
        "POST",
        "/api/v1/backtest/optimize",
        {},
        {
            "strategy": "sma_cross",
            "symbol": "SPY",
            "grid": {"fast": "5:50"},
            "trials": 20,
            "async": True,
        },
    ),
    (
        "sweep",
        lambda c: c.sweep("sma_cross", "SPY", {"fast": "5:50:5"}, top=5),
        "POST",
        "/api/v1/backtest/sweep",
        {},
        {"strategy": "sma_cross", "symbol": "SPY", "grid": {"fast": "5:50:5"}, "top": 5},
    ),
    ("quote", lambda c: c.quote("BTC/USDT"), "GET", "/api/v1/market/quote/BTC_USDT", {}, None),
    (
        "history",
        lambda c: c.history("AAPL", period="1mo", interval="1d"),
        "GET",
        "/api/v1/market/history/AAPL",
        {"period": "1mo", "interval": "1d"},
        None,
    ),
    ("history defaults", lambda c: c.history("AAPL"), "GET", "/api/v1/market/history/AAPL", {}, None),
    ("health", lambda c: c.health(), "GET", "/api/v1/health", {}, None),
    ("create_api_key", lambda c: c.create_api_key("bot"), "POST", "/api/v1/auth/keys", {}, {"name": "bot"}),
    ("api_keys", lambda c: c.api_keys(), "GET", "/api/v1/auth/keys", {}, None),
    ("revoke_api_key", lambda c: c.revoke_api_key(7), "DELETE", "/api/v1/auth/keys/7", {}, None),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS]
)
def test_paths_and_bodies(
    server: Server,
    call: Callable[[Client], Any],
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
) -> None:
    assert call(server.client(api_key=API_KEY)) == {"ok": True}
    request = server.last
    assert (request.method, request.url.raw_path.split(b"?")[0].decode()) == (method, path)
    assert dict(request.url.params) == query
    assert (json.loads(request.content) if request.content else None) == body


def test_predict_batch_rejects_two_different_models(server: Server) -> None:
    with pytest.raises(ValueError, match="model or model_name"):
        server.client().predict_batch(["AAPL"], model="a", model_name="b")
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "INVALID_REQUEST", InvalidRequest),
        (400, "INVALID_SYMBOL", InvalidRequest),
        (422, "VALIDATION_ERROR", InvalidRequest),
        (401, "UNAUTHORIZED", AuthenticationFailed),
        (403, "FORBIDDEN", PermissionDenied),
        (404, "NOT_FOUND", NotFound),
        (409, "CONFLICT", Conflict),
        (500, "MODEL_ERROR", ServerError),
        (503, "SERVICE_UNAVAILABLE", ServerError),
        (418, "TEAPOT", TradeforgeAPIError),
    ],
)
def test_envelope_becomes_the_typed_exception(server: Server, status: int, code: str, cls: type) -> None:
    details = {"provided_symbol": "XYZ"}
    server.answers.append(
        httpx.Response(status, json=envelope(code, "Symbol 'XYZ' not found", status, details))
    )
    with pytest.raises(TradeforgeAPIError) as info:
        server.client().quote("XYZ")
    err = info.value
    assert type(err) is cls
    assert (err.code, err.message, err.status_code, err.request_id) == (
        code,
        "Symbol 'XYZ' not found",
        status,
        "req_1",
    )
    assert err.details == details
    assert str(err) == f"{code} ({status}): Symbol 'XYZ' not found [request req_1]"


OTHER_BODIES = [
    (
        httpx.Response(400, json={"error": "bad dates", "status_code": 400}),
        InvalidRequest,
        "INVALID_REQUEST",
        "bad dates",
        None,
    ),
    (
        httpx.Response(404, json={"detail": "Not Found"}, headers={"X-Request-ID": "r9"}),
        NotFound,
        "NOT_FOUND",
        "Not Found",
        "r9",
    ),
    (
        httpx.Response(502, text="upstream down"),
        ServerError,
        "HTTP_502",
        "HTTP 502 Bad Gateway: upstream down",
        None,
    ),
    (
        httpx.Response(500, json=["odd"]),
        ServerError,
        "INTERNAL_ERROR",
        'HTTP 500 Internal Server Error: ["odd"]',
        None,
    ),
]


@pytest.mark.parametrize(
    ("response", "cls", "code", "message", "request_id"),
    OTHER_BODIES,
    ids=["plain-error", "litestar", "text", "list"],
)
def test_answers_other_than_the_envelope_still_raise_by_status(
    server: Server, response: httpx.Response, cls: type, code: str, message: str, request_id: str | None
) -> None:
    server.answers.append(response)
    with pytest.raises(cls) as info:
        server.client().health()
    assert (info.value.code, info.value.message, info.value.request_id) == (code, message, request_id)
    assert info.value.status_code == response.status_code


def test_rate_limited_carries_retry_after_and_reset(server: Server) -> None:
    reset = int(time.time()) + 120
    headers = {"Retry-After": "42", "X-RateLimit-Reset": str(reset), "X-RateLimit-Limit": "100"}
    server.answers.append(
        httpx.Response(429, json=envelope("RATE_LIMITED", "slow down", 429), headers=headers)
    )
    with pytest.raises(RateLimited) as info:
        server.client().health()
    assert (info.value.retry_after, info.value.reset, info.value.limit) == (42, reset, 100)
    assert info.value.code == "RATE_LIMITED" and info.value.message == "slow down"

    server.answers.append(httpx.Response(429, headers={"X-RateLimit-Reset": str(reset)}))
    with pytest.raises(RateLimited) as info:
        server.client().health()
    assert info.value.retry_after is not None and 118 <= info.value.retry_after <= 120
    assert info.value.code == "RATE_LIMITED"

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.answers.append(httpx.Response(429, headers={"Retry-After": when}))
    with pytest.raises(RateLimited) as info:
        server.client().health()
    assert info.value.retry_after is not None and 28 <= info.value.retry_after <= 30
    assert info.value.reset is None


def test_login_stores_the_token_for_later_requests(server: Server) -> None:
    client = server.client(api_key=API_KEY)
    server.answers.append(
        httpx.Response(200, json={"access_token": TOKEN, "refresh_token": "r1", "token_type": "bearer"})
    )
    assert client.login("alice", "pw")["token_type"] == "bearer"
    assert server.last.url.path == "/auth/login"
    assert json.loads(server.last.content) == {"username": "alice", "password": "pw"}
    client.models()
    assert server.last.headers["Authorization"] == f"Bearer {TOKEN}" and client.token == TOKEN

    server.answers.append(httpx.Response(200, json={"status": "success", "data": {"access_token": "t2"}}))
    client.refresh()
    assert json.loads(server.last.content) == {"refresh_token": "r1"}
    client.health()
    assert server.last.headers["Authorization"] == "Bearer t2"


def test_failed_login_keeps_the_old_credentials(server: Server) -> None:
    client = server.client(api_key=API_KEY)
    server.answers.append(
        httpx.Response(401, json=envelope("UNAUTHORIZED", "invalid username or password", 401))
    )
    with pytest.raises(AuthenticationFailed, match="invalid username or password"):
        client.login("alice", "wrong")
    assert client.token is None
    with pytest.raises(ValueError, match="login"):
        client.refresh()
    client.health()
    assert server.last.headers["X-API-Key"] == API_KEY


def test_secrets_never_reach_messages_or_reprs(server: Server) -> None:
    client = server.client(api_key=API_KEY)
    server.answers.append(
        httpx.Response(401, json=envelope("UNAUTHORIZED", f"API key {API_KEY} revoked", 401))
    )
    with pytest.raises(AuthenticationFailed) as info:
        client.health()
    for text in (str(info.value), repr(info.value), info.value.message, repr(client)):
        assert API_KEY not in text
    assert "***" in info.value.message and "api_key" in repr(client)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused while sending {request.headers.get('X-API-Key')}", request=request)

    down = Client("http://user:pw@api.test:9", api_key=API_KEY, transport=httpx.MockTransport(refuse))
    with pytest.raises(ConnectionFailed) as failed:
        down.model("m1")
    assert failed.value.url == "http://api.test:9/api/v1/models/m1"
    assert failed.value.code == "CONNECTION_FAILED" and failed.value.status_code is None
    for text in (str(failed.value), repr(failed.value), repr(down)):
        assert API_KEY not in text and "pw@" not in text
    assert "http://api.test:9/api/v1/models/m1" in str(failed.value)


def test_timeouts_raise_connection_failed() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ConnectionFailed, match="timed out"):
        Client("http://api.test", token=TOKEN, timeout=0.1, transport=httpx.MockTransport(slow)).health()


def test_success_bodies(server: Server) -> None:
    client = server.client()
    server.answers.append(httpx.Response(204))
    assert client.delete_model("m1") == {}
    server.answers.append(httpx.Response(200, json=[{"id": 1}]))
    assert client.api_keys() == {"data": [{"id": 1}]}
    server.answers.append(httpx.Response(200, text="<html>", headers={"content-type": "text/html"}))
    with pytest.raises(TradeforgeAPIError) as info:
        client.health()
    assert info.value.code == "INVALID_RESPONSE" and "text/html" in info.value.message


def test_context_manager_closes_and_base_path_is_kept() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    with Client("http://api.test/tradeforge/", transport=httpx.MockTransport(handler)) as client:
        client.health()
    assert seen == ["http://api.test/tradeforge/api/v1/health"]
    with pytest.raises(RuntimeError):
        client.health()  # a closed httpx client refuses to send


def test_client_imports_without_litestar() -> None:
    code = "import sys; sys.modules['litestar'] = None; import serving.client; print(serving.client.Client)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "serving.client.api.Client" in done.stdout
