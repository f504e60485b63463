"""Trading ML-style clients (/api/v1/predictions, /api/v1/models, /api/v1/backtest, /api/v1/monitoring,
/health, /info): each example request answers the fields such a client reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving_support import assert_envelope, make_user


@pytest.fixture(scope="module")
def user(client: Any) -> dict[str, Any]:
    return make_user(client)


def test_root_health_info(client: Any) -> None:
    root = client.get("/").json()
    assert root["docs"] == "/docs" and root["health"] == "/health"
    health = client.get("/health").json()
    assert health["status"] == "healthy" and health["system"]["memory_total_gb"] > 0
    info = client.get("/info").json()
    assert "lightgbm" in info["model_types"] and "sma_cross" in info["strategies"]
    assert "secret" not in str(info).lower()


def test_models_list_has_count_type_symbol_and_trained_date(client: Any, user: dict[str, Any]) -> None:
    out = client.get("/api/v1/models/", headers=user["headers"]).json()
    assert out["count"] == len(out["models"]) >= 2
    row = next(m for m in out["models"] if m["name"] == "lgbm_aapl")
    assert row["type"] == "lightgbm" and row["symbol"] == "AAPL"
    assert (row["trained_date"] and "parameters" in row) or "metrics" in row


def test_get_and_reload_model(client: Any, user: dict[str, Any]) -> None:
    got = client.get("/api/v1/models/lgbm_aapl", headers=user["headers"])
    assert got.status_code == 200, got.text
    detail = got.json()
    assert detail["model_name"] == "lgbm_aapl" and detail["champion_version"] == "1"
    assert detail["versions_detail"][0]["aliases"] == ["champion"]
    # lgbm_aapl was registered without an API user: owned by nobody, an admin's to reload.
    assert_envelope(client.post("/api/v1/models/lgbm_aapl/reload", headers=user["headers"]), 403, "FORBIDDEN")
    admin = make_user(client, role="admin")
    reloaded = client.post("/api/v1/models/lgbm_aapl/reload", headers=admin["headers"])
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["version"] == "1" and reloaded.json()["status"] == "success"
    assert_envelope(client.get("/api/v1/models/nope", headers=user["headers"]), 404, "NOT_FOUND")


def test_train_example_and_delete_needs_the_owner(client: Any, user: dict[str, Any]) -> None:
    body = {
        "model_type": "simple",
        "model_name": "simple_spy",
        "symbol": "SPY",
        "start_date": "2022-01-01",
        "end_date": "2024-01-01",
    }
    r = client.post("/api/v1/models/train", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "success" and out["model_name"] == "simple_spy"
    assert out["message"].startswith("Model trained in") and out["training_time"] > 0
    other = make_user(client)
    assert_envelope(client.delete("/api/v1/models/simple_spy", headers=other["headers"]), 403, "FORBIDDEN")
    gone = client.delete("/api/v1/models/simple_spy", headers=user["headers"])
    assert gone.status_code == 200, gone.text
    assert_envelope(client.get("/api/v1/models/simple_spy", headers=user["headers"]), 404, "NOT_FOUND")


def test_predict_example(client: Any, user: dict[str, Any]) -> None:
    body = {"model_name": "lgbm_aapl", "symbol": "SPY", "days_lookback": 60}
    r = client.post("/api/v1/predictions/predict", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["model_name"] == "lgbm_aapl" and p["symbol"] == "SPY"
    assert -1 <= p["signal"] <= 1 and 0 <= p["confidence"] <= 1 and p["current_price"] > 0
    expected = "BUY" if p["signal"] > 0.2 else "SELL" if p["signal"] < -0.2 else "HOLD"
    assert p["recommendation"] == expected
    assert p["metadata"]["model_type"] == "lightgbm" and p["metadata"]["data_points"] == 60
    assert p["metadata"]["latest_date"] == p["timestamp"][:10]


def test_batch_example(client: Any, user: dict[str, Any]) -> None:
    body = {"model_name": "lgbm_aapl", "symbols": ["SPY", "QQQ", "IWM"], "days_lookback": 60}
    out = client.post("/api/v1/predictions/predict/batch", json=body, headers=user["headers"]).json()
    assert out["model_name"] == "lgbm_aapl" and len(out["predictions"]) == 3
    recs = [p["recommendation"] for p in out["predictions"]]
    s = out["summary"]
    assert (s["total"], s["successful"]) == (3, 3)
    assert (s["buy_signals"], s["sell_signals"], s["hold_signals"]) == (
        recs.count("BUY"),
        recs.count("SELL"),
        recs.count("HOLD"),
    )


def test_ensemble_example_normalizes_weights(client: Any, user: dict[str, Any]) -> None:
    body = {"model_names": ["lgbm_aapl", "xgb_aapl"], "symbol": "AAPL", "weights": [3, 1]}
    r = client.post("/api/v1/predictions/predict/ensemble", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    members = out["individual_predictions"]
    assert [m["weight"] for m in members] == [0.75, 0.25]
    assert out["ensemble_signal"] == pytest.approx(sum(m["weighted_signal"] for m in members))
    bad = {**body, "weights": [1, -1]}
    assert_envelope(
        client.post("/api/v1/predictions/predict/ensemble", json=bad, headers=user["headers"]),
        400,
        "INVALID_REQUEST",
    )


def test_signal_history(client: Any, user: dict[str, Any]) -> None:
    r = client.get(
        "/api/v1/predictions/models/lgbm_aapl/signals/AAPL", params={"days": 30}, headers=user["headers"]
    )
    assert r.status_code == 200, r.text
    out = r.json()
    points = out["signals"]
    assert len(points) == 30
    assert [p["timestamp"] for p in points] == sorted(p["timestamp"] for p in points)


def test_backtest_run_example(client: Any, user: dict[str, Any]) -> None:
    body = {
        "model_name": "lgbm_aapl",
        "symbol": "AAPL",
        "start_date": "2023-01-01",
        "end_date": "2024-01-01",
        "initial_capital": 100000,
        "commission": 0.001,
        "position_size": 1.0,
    }
    r = client.post("/api/v1/backtest/run", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "success" and out["period"] == {"start": "2023-01-01", "end": "2024-01-01"}
    for key in ("total_return", "annual_return", "sharpe_ratio", "max_drawdown", "num_trades", "win_rate"):
        assert key in out["metrics"]
    assert out["equity_curve"][0][1] == pytest.approx(100000, rel=0.01)
    assert out["final_equity"] == pytest.approx(out["equity_curve"][-1][1])
    assert isinstance(out["trades"], list)
    bench, sig = out["benchmark"], out["significance"]
    assert bench["symbol"] == "AAPL" and bench["strategy"] == "buy_and_hold" and bench["others"] == []
    assert bench["excess_return"] == pytest.approx(out["metrics"]["total_return"] - bench["total_return"])
    assert bench["verdict"].startswith(("beat buy and hold of AAPL", "did not beat buy and hold of AAPL"))
    assert sig["sharpe_ratio"] == pytest.approx(out["metrics"]["sharpe_ratio"])
    assert sig["trials"] == 1 and sig["deflated_sharpe"] is None
    assert sig["psr_vs_benchmark"] is not None and 0.0 <= sig["psr_vs_zero"] <= 1.0


def test_compare_example(client: Any, user: dict[str, Any]) -> None:
    body = {
        "model_names": ["lgbm_aapl", "xgb_aapl"],
        "strategies": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
        "symbol": "AAPL",
        "start_date": "2023-01-01",
        "end_date": "2024-01-01",
    }
    r = client.post("/api/v1/backtest/compare", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    labels = [row["label"] for row in out["results"]]
    assert labels == ["lgbm_aapl", "xgb_aapl", "sma_cross", "benchmark"]
    # the best of the three runs, its Sharpe ratio deflated by the three compared
    sig = out["significance"]
    assert sig["best"] == out["best"] and sig["trials"] == 3
    best = next(row for row in out["results"] if row["label"] == out["best"])
    assert sig["sharpe_ratio"] == pytest.approx(best["sharpe_ratio"])
    assert sig["deflated_sharpe"] is not None and sig["overfitting"]["trials"] == 3
    bench_row = out["results"][-1]
    assert out["benchmark"]["total_return"] == pytest.approx(bench_row["total_return"])
    assert out["benchmark"]["others"] == []  # no benchmark symbol in these settings
    assert out["benchmark"]["excess_return"] == pytest.approx(
        best["total_return"] - bench_row["total_return"]
    )


def test_walk_forward_example(client: Any, user: dict[str, Any]) -> None:
    body = {
        "model_name": "lgbm_aapl",
        "symbol": "AAPL",
        "start_date": "2022-01-01",
        "end_date": "2024-01-01",
        "train_window": 252,
        "test_window": 63,
    }
    r = client.post("/api/v1/backtest/walk-forward", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_type"] == "lightgbm" and out["num_folds"] == len(out["folds"]) >= 3
    assert "sharpe_ratio" in out["metrics"]
    # the bars before start_date warm the features: every fold trains on a full window
    assert [f["train_rows"] for f in out["folds"]] == [252] * out["num_folds"] and out["warnings"] == []
    assert all("sharpe_ratio" in f["in_sample_metrics"] for f in out["folds"])
    sig = out["significance"]
    assert sig["observations"] == out["equity_curve_total_points"] - 1
    assert sig["out_of_sample_sharpe"] is not None and "walk_forward_efficiency" in sig
    assert out["benchmark"]["common_bars"] == out["equity_curve_total_points"]
    too_long = {**body, "train_window": 5000}
    assert_envelope(
        client.post("/api/v1/backtest/walk-forward", json=too_long, headers=user["headers"]),
        400,
        "INVALID_REQUEST",
    )


def test_metrics_catalogue(client: Any, user: dict[str, Any]) -> None:
    out = client.get("/api/v1/backtest/metrics", headers=user["headers"]).json()
    names = [m["name"] for m in out["metrics"]]
    assert "sharpe_ratio" in names and out["count"] == len(names)


def test_monitoring_counts_come_from_the_logs(client: Any) -> None:
    me = make_user(client)
    for _ in range(3):
        r = client.post(
            "/api/v1/predictions/predict", json={"model_name": "lgbm_aapl"}, headers=me["headers"]
        )
        assert r.status_code == 200
    client.post("/api/v1/predictions/predict", json={"model_name": "nope"}, headers=me["headers"])
    system = client.get("/api/v1/monitoring/system", headers=me["headers"]).json()
    assert system["total_predictions"] == 3 and system["total_errors"] == 1
    assert system["total_api_calls"] >= 4
    model = client.get("/api/v1/monitoring/models/lgbm_aapl", headers=me["headers"]).json()
    assert model["total_predictions"] == 3
    assert model["buy_signals"] + model["sell_signals"] + model["hold_signals"] == 3
    recent = client.get(
        "/api/v1/monitoring/predictions/recent", params={"limit": 2}, headers=me["headers"]
    ).json()
    assert recent["count"] == 2
    errors = client.get("/api/v1/monitoring/errors/recent", headers=me["headers"]).json()
    assert errors["count"] == 1 and errors["errors"][0]["code"] == "NOT_FOUND"
    dashboard = client.get("/api/v1/monitoring/dashboard", headers=me["headers"]).json()
    assert dashboard["system"]["total_predictions"] == 3
    saved = client.post("/api/v1/monitoring/save", headers=me["headers"])
    assert saved.status_code == 201, saved.text
    history = client.get("/api/v1/monitoring/history", headers=me["headers"]).json()
    assert history["count"] == 1 and history["files"][0]["name"] == saved.json()["name"]
    home = str(client.app.state.container.settings.home.resolve())
    assert home not in saved.text and home not in str(history)  # a file name, never a server path
    other = make_user(client)  # another user sees none of it
    assert client.get("/api/v1/monitoring/system", headers=other["headers"]).json()["total_predictions"] == 0
    admin = make_user(client, role="admin")
    assert client.get("/api/v1/monitoring/system", headers=admin["headers"]).json()["total_predictions"] >= 3
