"""Status, metrics, ML clients, trading, DCA and configuration (/api/health, /api/status,
/api/metrics*, /api/ml/*, /api/trades*, /api/dca*, /api/config): each example request answers the
documented shape (the ``status``/``data``/``timestamp`` envelope), with a Bearer
token and an X-API-Key alike, and bad input is a 4xx in the error envelope that changes nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.serving_support import app_client, assert_envelope, make_user, served_settings, wait_for_job
from tests.trading.support import write_bars

_METRIC_ROUTES = ("/api/metrics", "/api/metrics/trading", "/api/metrics/ml", "/api/metrics/system")


@pytest.fixture(scope="module")
def user(client: Any) -> dict[str, Any]:
    """A user with a Bearer token and an API key (``key_headers``)."""
    made = make_user(client)
    created = client.post("/api/v1/auth/keys", json={"name": "status-client"}, headers=made["headers"])
    assert created.status_code == 201, created.text
    return {**made, "key_headers": {"X-API-Key": created.json()["key"]}}


def _both(user: dict[str, Any]) -> list[dict[str, str]]:
    return [user["headers"], user["key_headers"]]


def _success(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "success" and body["timestamp"].endswith("Z")
    return body["data"]  # type: ignore[no-any-return]


def test_health_answers_both_shapes_without_credentials(client: Any, user: dict[str, Any]) -> None:
    for headers in ({}, *_both(user)):
        r = client.get("/api/health", headers=headers)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "healthy" and out["version"] and out["timestamp"].endswith("Z")
        services = out["services"]
        assert (services["backend"], services["database"]) == ("healthy", "healthy")
        assert services["redis"] == "not_configured"  # the test home has no Redis
        assert "x-ratelimit-limit" not in r.headers  # a probe: never rate-limited


def test_status_needs_a_caller_and_reports_services(client: Any, user: dict[str, Any]) -> None:
    assert_envelope(client.get("/api/status"), 401, "UNAUTHORIZED")
    for headers in _both(user):
        data = _success(client.get("/api/status", headers=headers))
        assert re.fullmatch(r"(\d+[dhm] )*\d+s", data["uptime"]) and data["uptime_seconds"] > 0
        assert data["version"] and data["environment"] == "development"
        database = data["services"]["database"]
        assert database["status"] == "healthy"
        assert database["connections"] is None or database["connections"] >= 0
        assert data["services"]["redis"] == {"status": "not_configured", "memory_usage": None, "keys": None}
        trading = data["services"]["trading"]
        assert trading == {"status": "idle", "active_trades": 0, "total_volume": "0.00"}


def _families(text: str) -> set[str]:
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_metrics_routes_answer_their_families(client: Any, user: dict[str, Any]) -> None:
    texts = {}
    for route in _METRIC_ROUTES:
        for headers in ({}, *_both(user)):
            r = client.get(route, headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("text/plain")
        texts[route] = r.text
    every = _families(texts["/api/metrics"])
    assert {
        "tradeforge_http_requests_total",
        "tradeforge_ml_model_accuracy",
        "process_resident_memory_bytes",
    } <= every
    trading = _families(texts["/api/metrics/trading"])
    assert {
        "tradeforge_trading_errors_total",
        "tradeforge_active_trades_total",
        "tradeforge_trading_volume_usd",
    } <= trading
    assert not any(f.startswith(("tradeforge_http_", "process_")) for f in trading)
    assert "tradeforge_active_trades_total 0.0" in texts["/api/metrics/trading"]
    ml = texts["/api/metrics/ml"]
    assert {"tradeforge_ml_predictions_total", "tradeforge_ml_training_duration_seconds"} <= _families(ml)
    accuracy = re.search(r'tradeforge_ml_model_accuracy\{model_type="lgbm_aapl"\} ([0-9.e+-]+)', ml)
    assert accuracy is not None and 0.0 <= float(accuracy.group(1)) <= 1.0
    seconds = re.search(r'tradeforge_ml_training_duration_seconds\{model_type="lgbm_aapl"\} ([0-9.e+-]+)', ml)
    assert seconds is not None and float(seconds.group(1)) > 0
    system = texts["/api/metrics/system"]
    used = re.search(r"^tradeforge_memory_usage_bytes ([0-9.e+-]+)$", system, re.MULTILINE)
    assert used is not None and float(used.group(1)) > 0
    assert {"tradeforge_cpu_usage_percent", "tradeforge_disk_usage_bytes"} <= _families(system)
    assert "tradeforge_ml_" not in system and "tradeforge_http_" not in system


def test_predictions_carry_their_indicator_values(client: Any, user: dict[str, Any]) -> None:
    body = {"model_name": "lgbm_aapl", "symbol": "AAPL", "days_lookback": 60}
    made = client.post("/api/v1/predictions/predict", json=body, headers=user["headers"])
    assert made.status_code == 200, made.text
    for headers in _both(user):
        data = _success(client.get("/api/ml/predictions", params={"limit": 5}, headers=headers))
        assert data["count"] == len(data["predictions"]) >= 1
        newest = data["predictions"][0]
        assert newest["id"].startswith("pred_") and newest["symbol"] == "AAPL"
        assert newest["model_type"] == "lgbm_aapl" and newest["prediction"] == made.json()["signal"]
        assert newest["confidence"] == made.json()["confidence"]
    row = client.app.state.container.predictions.feature_row("lgbm_aapl", "AAPL")["features"]
    features = newest["features"]
    assert features["rsi"] == pytest.approx(row["rsi_14"]) and 0 <= features["rsi"] <= 100
    assert features["macd"] == pytest.approx(row["macd_12_26_9"])
    price = made.json()["current_price"]
    band = (price - row["bb_lower_20_2"]) / (row["bb_upper_20_2"] - row["bb_lower_20_2"])
    assert features["bollinger_position"] == pytest.approx(band)
    # Filters: by model kind or name, by symbol in any spelling; another user sees none of these.
    by_kind = _success(client.get("/api/ml/predictions?model_type=lightgbm", headers=user["headers"]))
    assert by_kind["predictions"][0]["id"] == newest["id"]
    other_symbol = "/api/ml/predictions?symbol=BTCUSDT"
    assert _success(client.get(other_symbol, headers=user["headers"]))["count"] == 0
    stranger = make_user(client)
    assert _success(client.get("/api/ml/predictions", headers=stranger["headers"]))["count"] == 0
    for bad in ("limit=0", "limit=5000", "limit=ten"):
        assert_envelope(
            client.get(f"/api/ml/predictions?{bad}", headers=user["headers"]), 400, "VALIDATION_ERROR"
        )


def test_performance_reports_the_last_evaluation(client: Any, user: dict[str, Any]) -> None:
    for headers in _both(user):
        data = _success(client.get("/api/ml/performance", headers=headers))
        model = next(m for m in data["models"] if m["name"] == "lgbm_aapl")
        assert model["type"] == "lightgbm" and model["status"] == "active"
        for key in ("accuracy", "precision", "recall", "f1_score"):
            assert 0.0 <= model[key] <= 1.0, key
        assert model["training_samples"] > 100 and model["last_trained"].endswith("Z")
        detail = client.get("/api/v1/models/lgbm_aapl", headers=headers).json()
        assert model["accuracy"] == pytest.approx(detail["metrics"]["val_directional_accuracy"])
        overall = data["overall_performance"]
        assert overall["total_predictions"] >= overall["successful_predictions"] >= 1
        assert 0.0 <= overall["average_accuracy"] <= 1.0


def _jobs(client: Any, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/jobs/", headers=headers).json()["count"])


def test_retrain_queues_a_training_like_the_serving_version(client: Any, user: dict[str, Any]) -> None:
    admin = make_user(client, role="admin")
    before = _jobs(client, admin["headers"])
    unknown = {"model_type": "no_such_model", "force": False}
    assert_envelope(client.post("/api/ml/retrain", json=unknown, headers=admin["headers"]), 404, "NOT_FOUND")
    for bad in ({"model_type": "lgbm_aapl", "force": "yes"}, {"model_type": "lgbm_aapl", "extra": 1}, {}):
        assert_envelope(
            client.post("/api/ml/retrain", json=bad, headers=admin["headers"]), 400, "VALIDATION_ERROR"
        )
    # lgbm_aapl was registered without an API user: only an admin may train it again.
    body = {"model_type": "lgbm_aapl", "force": False}
    for headers in _both(user):
        assert_envelope(client.post("/api/ml/retrain", json=body, headers=headers), 403, "FORBIDDEN")
    assert _jobs(client, admin["headers"]) == before  # nothing was queued by the refusals
    data = _success(client.post("/api/ml/retrain", json=body, headers=admin["headers"]), 202)
    assert data["model_type"] == "lgbm_aapl" and data["status"] in ("queued", "training")
    assert data["training_started"].endswith("Z") and re.fullmatch(
        r"\d+[sm]|\d+h \d+m", data["estimated_duration"]
    )
    assert_envelope(client.post("/api/ml/retrain", json=body, headers=admin["headers"]), 409, "CONFLICT")
    job = wait_for_job(client, data["job_id"], admin["headers"])
    assert job["status"] == "completed", job
    assert job["params"]["model_type"] == "lightgbm" and job["params"]["symbol"] == "AAPL"
    assert job["params"]["parameters"]["n_estimators"] == 30  # the serving version's hyper-parameters
    assert job["result"]["version"] == "2"


def test_openapi_documents_every_route_with_examples_and_errors(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/api/health", "get"): (200, ()),
        ("/api/status", "get"): (200, (401, 429)),
        ("/api/ml/predictions", "get"): (200, (400, 401)),
        ("/api/ml/performance", "get"): (200, (401,)),
        ("/api/ml/retrain", "post"): (202, (400, 401, 403, 404, 409)),
        **{(route, "get"): (200, (401,)) for route in _METRIC_ROUTES},
    }
    for (path, method), (ok, errors) in expected.items():
        responses = paths[path][method]["responses"]
        success = next(iter(responses[str(ok)]["content"].values()))
        assert success["examples"], path
        for code in (*errors, 429):
            error = responses[str(code)]["content"]["application/json"]
            assert next(iter(error["examples"].values()))["value"]["status"] == "error", (path, code)
    body = paths["/api/ml/retrain"]["post"]["requestBody"]["content"]["application/json"]
    assert {"model_type": "lightgbm_btc_usdt_1h", "force": False} in body["schema"]["examples"]


# -- trading, DCA and configuration: the document's own requests on a fresh app with stored bars --

_TRADE_BODY = {
    "symbol": "BTCUSDT",
    "side": "buy",
    "amount": "0.001",
    "price": "45000.00",
    "stop_loss": "43000.00",
    "take_profit": "47000.00",
    "dca_enabled": True,
    "max_dca_attempts": 3,
}
_TRADE_FIELDS = {
    "id": str,
    "symbol": str,
    "side": str,
    "amount": str,
    "price": str,
    "current_price": str,
    "pnl": str,
    "pnl_percent": str,
    "status": str,
    "created_at": str,
    "updated_at": str,
}
_ATTEMPT_FIELDS = {"id": str, "trade_id": str, "attempt": int, "volume": str, "price": str, "success": bool}


def _minute(offset: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=offset)


def _typed(value: dict[str, Any], fields: dict[str, type]) -> None:
    for name, kind in fields.items():
        assert isinstance(value.get(name), kind), (name, value.get(name))


@pytest.fixture(scope="module")
def desk_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh app whose store holds 1-minute BTC/USDT bars near the document's prices."""
    settings = served_settings(tmp_path_factory.mktemp("market7-trading") / "home")
    bars = [(_minute(-3 + i), 45100.0, 45200.0, 45050.0, 45100.0) for i in range(3)]
    write_bars(settings, "BTC/USDT", bars)
    with app_client(settings) as c:
        c.settings = settings
        yield c


def _bar(client: Any, offset: int, o: float, h: float, low: float, c: float) -> None:
    write_bars(client.settings, "BTC/USDT", [(_minute(offset), o, h, low, c)])
    client.app.state.container.trade_desk.bars.forget("BTC/USDT")


def test_the_trading_and_dca_examples_answer_their_documented_shapes(desk_client: Any) -> None:
    client = desk_client
    user = make_user(client)
    created = _success(client.post("/api/trades", json=_TRADE_BODY, headers=user["headers"]), 201)
    _typed(created, {"id": str, "symbol": str, "side": str, "amount": str, "price": str, "status": str})
    assert (created["symbol"], created["side"], created["amount"], created["price"]) == (
        "BTCUSDT",
        "buy",
        "0.001",
        "45000",
    )
    _bar(client, 1, 44900.0, 45100.0, 44800.0, 44900.0)  # the limit buy fills at this open
    listed = _success(client.get("/api/trades/active", headers=user["headers"]))
    _typed(listed, {"trades": list, "count": int, "total_pnl": str, "total_volume": str})
    _typed(listed["trades"][0], _TRADE_FIELDS)
    dca_body = {"trade_id": created["id"], "volume": "0.0005", "reason": "manual_dca"}
    executed = _success(client.post("/api/dca/execute", json=dca_body, headers=user["headers"]))
    _typed(executed, {"trade_id": str, "dca_attempt": int, "volume": str, "price": str, "timestamp": str})
    assert (executed["volume"], executed["success"]) == ("0.0005", True)  # units of BTC
    _bar(client, 2, 44800.0, 44900.0, 44700.0, 44850.0)
    detail = _success(client.get(f"/api/trades/{created['id']}", headers=user["headers"]))
    _typed(detail, {**_TRADE_FIELDS, "entry_price": str, "dca_attempts": int, "dca_success_rate": str})
    assert detail["risk_level"] in {"low", "medium", "high"} and detail["dca_success_rate"] == "100%"
    assert detail["ml_confidence"] is None  # opened by hand, not by a model
    _typed(detail["dca_history"][0], {"attempt": int, "price": str, "amount": str, "timestamp": str})
    assert detail["dca_history"][0]["amount"] == "0.0005"
    history = _success(client.get("/api/dca/history", headers=user["headers"]))
    _typed(history, {"dca_attempts": list, "count": int, "success_rate": str})
    _typed(history["dca_attempts"][0], {**_ATTEMPT_FIELDS, "timestamp": str})
    status = _success(client.get("/api/dca/status", headers=user["headers"]))
    _typed(
        status,
        {
            "enabled": bool,
            "active_trades": int,
            "total_attempts": int,
            "successful_attempts": int,
            "success_rate": str,
            "total_volume": str,
        },
    )
    close_body = {"reason": "manual_close", "force": False}
    closed = _success(
        client.post(f"/api/trades/{created['id']}/close", json=close_body, headers=user["headers"])
    )
    _typed(
        closed,
        {"id": str, "status": str, "exit_price": str, "pnl": str, "pnl_percent": str, "closed_at": str},
    )
    assert (closed["status"], closed["exit_price"]) == ("closed", "44850")  # the newest stored close
    window = {"start_date": "2024-01-01", "end_date": "2100-01-01"}
    past = _success(client.get("/api/trades/history", params=window, headers=user["headers"]))
    _typed(past["trades"][0], {"entry_price": str, "exit_price": str, "closed_at": str})
    assert past["trades"][0]["symbol"] == "BTC/USDT"  # lists name pairs canonically


def test_the_configuration_examples_answer_the_documented_values(desk_client: Any) -> None:
    user = make_user(desk_client)
    config = _success(desk_client.get("/api/config", headers=user["headers"]))
    documented = {
        "trading": {
            "enabled": True,
            "max_position_size": "1000.00",
            "daily_loss_limit": "100.00",
            "max_drawdown": "0.10",
        },
        "dca": {"enabled": True, "max_attempts": 5, "base_volume": "100.00", "volume_scaling": 1.5},
        "ml": {"enabled": True, "confidence_threshold": 0.8, "update_frequency": "1h"},
        "risk": {"safu_enabled": True, "stop_loss": "0.05", "take_profit": "0.10"},
    }
    for section, values in documented.items():
        assert {k: config[section][k] for k in values} == values, section
    patch = {
        "trading": {"max_position_size": "2000.00", "daily_loss_limit": "200.00"},
        "dca": {"max_attempts": 7, "base_volume": "150.00"},
    }
    updated = _success(desk_client.put("/api/config", json=patch, headers=user["headers"]))
    assert isinstance(updated["message"], str) and updated["updated_fields"] == [
        "trading.max_position_size",
        "trading.daily_loss_limit",
        "dca.max_attempts",
        "dca.base_volume",
    ]
