"""mlTrainer-style clients (/api/v1/predict, /api/v1/models, /api/v1/market, /api/v1/health): each
example request answers the fields such a client reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving_support import assert_envelope, make_user


@pytest.fixture(scope="module")
def user(client: Any) -> dict[str, Any]:
    return make_user(client)


def test_predict_example(client: Any, user: dict[str, Any]) -> None:
    body = {
        "symbol": "AAPL",
        "model": "lgbm_aapl",
        "timeframe": "1d",
        "features": {"volume": True, "technical_indicators": ["RSI", "MACD", "BB"]},
    }
    r = client.post("/api/v1/predict", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "success"
    p = out["prediction"]
    assert p["symbol"] == "AAPL" and p["model"] == "lgbm_aapl"
    assert p["value"] > 0 and 0.0 <= p["confidence"] <= 1.0
    assert p["direction"] in ("up", "down", "flat")
    assert p["timestamp"].startswith("20")
    meta = out["metadata"]
    assert meta["model_version"] == "1"
    assert meta["features_used"] == 101 and meta["computation_time_ms"] >= 0
    assert "rsi_14" in meta["features_requested"]["RSI"]
    assert "macd_12_26_9" in meta["features_requested"]["MACD"]


def test_predict_by_model_kind(client: Any, user: dict[str, Any]) -> None:
    """``model`` may name a kind ("random_forest"): a kind picks the registered model of that kind."""
    r = client.post("/api/v1/predict", json={"symbol": "AAPL", "model": "xgboost"}, headers=user["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["model_name"] == "xgb_aapl"
    missing = client.post(
        "/api/v1/predict", json={"symbol": "AAPL", "model": "lstm"}, headers=user["headers"]
    )
    assert_envelope(missing, 404, "NOT_FOUND")


def test_predict_rejects_unknown_indicator(client: Any, user: dict[str, Any]) -> None:
    body = {"symbol": "AAPL", "model": "lgbm_aapl", "features": {"technical_indicators": ["NOPE"]}}
    err = assert_envelope(
        client.post("/api/v1/predict", json=body, headers=user["headers"]), 400, "INVALID_REQUEST"
    )
    assert "NOPE" in err["error"]["message"]


def test_batch_sync(client: Any, user: dict[str, Any]) -> None:
    body = {"symbols": ["AAPL", "MSFT", "GOOGL"], "model": "lgbm_aapl", "async": False}
    r = client.post("/api/v1/predict/batch", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert [p["symbol"] for p in out["predictions"]] == ["AAPL", "MSFT", "GOOGL"]
    s = out["summary"]
    assert s["total"] == 3 and s["successful"] == 3
    assert s["buy_signals"] + s["sell_signals"] + s["hold_signals"] == 3


def test_models_list_filters_and_pagination(client: Any, user: dict[str, Any]) -> None:
    r = client.get(
        "/api/v1/models", params={"category": "machine_learning", "status": "active"}, headers=user["headers"]
    )
    assert r.status_code == 200, r.text
    out = r.json()
    names = [m["id"] for m in out["models"]]
    assert {"lgbm_aapl", "xgb_aapl"} <= set(names)
    first = out["models"][0]
    for key in ("id", "name", "category", "status", "accuracy", "last_trained"):
        assert key in first
    assert first["category"] == "machine_learning" and first["status"] == "active"
    page = client.get("/api/v1/models", params={"page": 2, "limit": 1}, headers=user["headers"]).json()
    assert page["pagination"]["page"] == 2 and page["pagination"]["total_items"] >= 2
    assert page["pagination"]["total_pages"] == page["pagination"]["total_items"]
    assert len(page["models"]) == 1 and page["models"][0]["id"] == names[1]
    none = client.get("/api/v1/models", params={"category": "deep_learning"}, headers=user["headers"]).json()
    assert none["models"] == [] and none["pagination"]["total_items"] == 0
    bad = client.get("/api/v1/models", params={"status": "retired"}, headers=user["headers"])
    assert_envelope(bad, 400, "VALIDATION_ERROR")  # not one of the statuses the spec lists


def test_train_example(client: Any, user: dict[str, Any]) -> None:
    body = {
        "model_type": "xgboost",
        "dataset": "AAPL@1d",
        "parameters": {"n_estimators": 20, "max_depth": 3, "learning_rate": 0.1},
        "validation_split": 0.2,
        "gpu_enabled": False,
    }
    r = client.post("/api/v1/models/train", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_name"] == "xgboost_aapl_1d" and out["model_type"] == "xgboost"
    assert out["device"] == "cpu" and out["parameters"]["n_estimators"] == 20
    assert "val_r2" in out["metrics"] and out["version"] == "1"


def test_train_rejects_unknown_parameter_and_registers_nothing(client: Any, user: dict[str, Any]) -> None:
    body = {
        "model_type": "xgboost",
        "model_name": "never_made",
        "symbol": "AAPL",
        "parameters": {"n_trees": 5},
    }
    err = assert_envelope(
        client.post("/api/v1/models/train", json=body, headers=user["headers"]), 400, "INVALID_REQUEST"
    )
    assert "n_trees" in err["error"]["message"]
    assert client.get("/api/v1/models/never_made", headers=user["headers"]).status_code == 404


def test_quote(client: Any, user: dict[str, Any]) -> None:
    r = client.get("/api/v1/market/quote/AAPL", headers=user["headers"])
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["symbol"] == "AAPL" and q["price"] > 0 and q["volume"] >= 0
    assert q["change"] == pytest.approx(q["price"] - q["previous_close"], abs=0.02)
    assert q["change_percent"] == pytest.approx(100 * q["change"] / q["previous_close"], rel=1e-3, abs=1e-3)


def test_history_periods_and_intervals(client: Any, user: dict[str, Any]) -> None:
    r = client.get(
        "/api/v1/market/history/AAPL", params={"period": "3mo", "interval": "1wk"}, headers=user["headers"]
    )
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["interval"] == "1wk" and h["count"] == len(h["bars"])
    assert 11 <= h["count"] <= 15
    bar = h["bars"][0]
    assert bar["high"] >= max(bar["open"], bar["close"]) and bar["low"] <= min(bar["open"], bar["close"])
    bad = client.get("/api/v1/market/history/AAPL", params={"period": "7y"}, headers=user["headers"])
    assert (
        "period: Invalid enum value '7y'" in assert_envelope(bad, 400, "VALIDATION_ERROR")["error"]["message"]
    )


def test_health_example(client: Any) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "healthy"
    assert h["services"] == {
        "database": "healthy",
        "cache": "healthy",
        "ml_engine": "healthy",
        "market_data": "healthy",
    }
    assert h["metrics"]["active_models"] >= 2
    assert h["metrics"]["uptime_seconds"] >= 0 and h["metrics"]["requests_per_minute"] >= 1


def test_rate_limit_headers_on_responses(client: Any) -> None:
    r = client.get("/api/v1/health")
    assert int(r.headers["x-ratelimit-limit"]) == 100  # anonymous callers get the free tier
    assert 0 <= int(r.headers["x-ratelimit-remaining"]) < 100
    assert int(r.headers["x-ratelimit-reset"]) > 1_700_000_000
