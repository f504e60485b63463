"""Monitoring numbers checked against log rows inserted by hand, for an admin and per user."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from pipelines.db import Database, ErrorLog, PredictionLog, RequestLog, add_many
from serving import monitoring

NOW = dt.datetime(2025, 6, 30, 12, 30, tzinfo=dt.UTC)
STARTED = NOW - dt.timedelta(days=1, hours=2, minutes=3, seconds=4)
ANN, BOB = "user-ann", "user-bob"


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


def pred(
    user: str | None, model: str, signal: float, confidence: float, rec: str, at: dt.datetime
) -> PredictionLog:
    return PredictionLog(
        user_id=user,
        endpoint="/api/v1/predict",
        model_name=model,
        symbol="AAPL",
        signal=signal,
        confidence=confidence,
        recommendation=rec,
        created_at=at,
    )


def req(
    user: str | None, route: str, status: int, ms: float, at: dt.datetime, method: str = "GET"
) -> RequestLog:
    return RequestLog(
        user_id=user, method=method, route=route, status_code=status, duration_ms=ms, created_at=at
    )


def err(user: str | None, code: str, status: int, at: dt.datetime) -> ErrorLog:
    return ErrorLog(user_id=user, status_code=status, code=code, message=f"{code} happened", created_at=at)


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.transaction() as s:
        add_many(
            s,
            [
                pred(ANN, "rf", 0.5, 0.8, "BUY", ago(minutes=30)),  # 12:00:00, hour 12
                pred(ANN, "rf", -0.1, 0.4, "HOLD", ago(minutes=30, seconds=1)),  # 11:59:59, hour 11
                pred(BOB, "rf", -0.6, 0.6, "SELL", ago(hours=3)),  # 09:30
                pred(BOB, "lgbm", math.nan, math.nan, "HOLD", ago(hours=23, minutes=30)),  # 13:00 yesterday
                pred(BOB, "lgbm", 0.3, 0.9, "BUY", ago(hours=30)),  # older than the 24 hour chart
                req(ANN, "/api/v1/predict", 200, 100.0, ago(seconds=10), "POST"),
                req(ANN, "/api/v1/models/{model_name}", 404, 20.0, ago(minutes=30)),
                req(BOB, "/api/v1/predict", 200, 300.0, ago(seconds=70), "POST"),
                req(BOB, "/api/v1/predict", 500, 400.0, ago(hours=2), "POST"),
                req(None, "/api/v1/health", 200, 5.0, ago(days=2)),
                err(ANN, "NOT_FOUND", 404, ago(minutes=30)),
                err(BOB, "MODEL_ERROR", 500, ago(hours=2)),
                err(None, "UNAUTHORIZED", 401, ago(hours=30)),
            ],
        )
    return database


def test_system_for_admin_and_users(seeded: Database) -> None:
    with seeded.session() as s:
        everyone = monitoring.system(s, None, STARTED, now=NOW)
        ann = monitoring.system(s, ANN, STARTED, now=NOW)
        bob = monitoring.system(s, BOB, None, now=NOW)
    assert everyone == {
        "total_predictions": 5,
        "total_api_calls": 5,
        "total_errors": 3,
        "recent_api_calls_1h": 3,
        "recent_errors_24h": 2,
        "avg_response_time": pytest.approx((100 + 20 + 300 + 400 + 5) / 5 / 1000),
        "uptime": "1d 2h 3m 4s",
        "uptime_seconds": 93784.0,
    }
    assert (ann["total_predictions"], ann["total_api_calls"], ann["total_errors"]) == (2, 2, 1)
    assert ann["avg_response_time"] == pytest.approx(0.06)
    assert (bob["recent_api_calls_1h"], bob["recent_errors_24h"], bob["uptime"], bob["uptime_seconds"]) == (
        1,
        1,
        "N/A",
        None,
    )


def test_system_on_an_empty_database(database: Database) -> None:
    with database.session() as s:
        numbers = monitoring.system(s, None, NOW, now=NOW)
    assert numbers["total_api_calls"] == 0 and numbers["avg_response_time"] is None
    assert numbers["uptime"] == "0s"


def test_model_numbers(seeded: Database) -> None:
    with seeded.session() as s:
        rf = monitoring.model(s, "rf", None)
        lgbm_bob = monitoring.model(s, "lgbm", BOB)
        rf_ann = monitoring.model(s, "rf", ANN)
        unknown = monitoring.model(s, "nope", None)
        summaries = monitoring.model_summaries(s, None)
    assert rf == {
        "model_name": "rf",
        "total_predictions": 3,
        "avg_confidence": pytest.approx(0.6),
        "avg_signal": pytest.approx(-0.2 / 3),
        "buy_signals": 1,
        "sell_signals": 1,
        "hold_signals": 1,
        "last_prediction_at": "2025-06-30T12:00:00Z",
    }
    # NaN predictions were stored as NULL: counted, but left out of the means.
    assert lgbm_bob["total_predictions"] == 2 and lgbm_bob["avg_signal"] == pytest.approx(0.3)
    assert (rf_ann["total_predictions"], rf_ann["sell_signals"]) == (2, 0)
    assert unknown["total_predictions"] == 0 and unknown["avg_confidence"] is None
    assert unknown["last_prediction_at"] is None
    assert [m["model_name"] for m in summaries] == ["lgbm", "rf"] and summaries[1] == rf


def test_traffic_breakdowns(seeded: Database) -> None:
    with seeded.session() as s:
        routes = monitoring.requests_by_route(s, None)
        statuses = monitoring.requests_by_status(s, None)
        codes = monitoring.errors_by_code(s, None)
        bob_codes = monitoring.errors_by_code(s, BOB)
        per_minute = monitoring.requests_per_minute(s, now=NOW)
    assert routes[0] == {
        "method": "POST",
        "route": "/api/v1/predict",
        "count": 3,
        "avg_duration_ms": pytest.approx(800 / 3, abs=1e-3),
        "errors": 1,
    }
    assert {(r["route"], r["count"], r["errors"]) for r in routes[1:]} == {
        ("/api/v1/models/{model_name}", 1, 1),
        ("/api/v1/health", 1, 0),
    }
    assert statuses == {"200": 3, "404": 1, "500": 1}
    assert codes == {"MODEL_ERROR": 1, "NOT_FOUND": 1, "UNAUTHORIZED": 1}
    assert bob_codes == {"MODEL_ERROR": 1}
    assert per_minute == 1  # 10 s ago counts, 70 s ago does not


def test_predictions_per_hour(seeded: Database) -> None:
    with seeded.session() as s:
        hours = monitoring.predictions_per_hour(s, None, now=NOW)
        bob_hours = monitoring.predictions_per_hour(s, BOB, now=NOW)
    assert len(hours) == 24
    assert hours[0]["hour"] == "2025-06-29T13:00:00Z" and hours[-1]["hour"] == "2025-06-30T12:00:00Z"
    counts = {h["hour"][11:13]: h["count"] for h in hours if h["count"]}
    assert counts == {"13": 1, "09": 1, "11": 1, "12": 1}
    assert sum(h["count"] for h in bob_hours) == 2


def test_dashboard_combines_everything_and_is_json(seeded: Database) -> None:
    with seeded.session() as s:
        board = monitoring.dashboard(s, ANN, STARTED, now=NOW)
    assert board["scope"] == "user" and board["generated_at"] == "2025-06-30T12:30:00Z"
    assert board["system"]["total_predictions"] == 2
    assert [m["model_name"] for m in board["models"]] == ["rf"]
    assert board["requests"]["by_status"] == {"200": 1, "404": 1}
    assert board["errors"]["by_code"] == {"NOT_FOUND": 1}
    assert sum(h["count"] for h in board["predictions_per_hour"]) == 2
    json.dumps(board, allow_nan=False)


def test_recent_rows_as_json(seeded: Database) -> None:
    with seeded.session() as s:
        preds = monitoring.recent_predictions(s, 3)
        bob_preds = monitoring.recent_predictions(s, 100, BOB)
        errors = monitoring.recent_errors(s, 50, None)
    assert [p["created_at"] for p in preds] == [
        "2025-06-30T12:00:00Z",
        "2025-06-30T11:59:59Z",
        "2025-06-30T09:30:00Z",
    ]
    assert preds[0]["signal"] == 0.5 and preds[0]["recommendation"] == "BUY" and preds[0]["user_id"] == ANN
    assert [p["model_name"] for p in bob_preds] == ["rf", "lgbm", "lgbm"]
    assert bob_preds[1]["signal"] is None and bob_preds[1]["confidence"] is None
    assert [e["code"] for e in errors] == ["NOT_FOUND", "MODEL_ERROR", "UNAUTHORIZED"]
    json.dumps([*preds, *bob_preds, *errors], allow_nan=False)


def test_format_duration() -> None:
    assert monitoring.format_duration(0.9) == "0s"
    assert monitoring.format_duration(61) == "1m 1s"
    assert monitoring.format_duration(3600) == "1h 0m 0s"
    assert monitoring.format_duration(86_400 * 3 + 5) == "3d 0h 0m 5s"
