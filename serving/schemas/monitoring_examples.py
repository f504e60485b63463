"""Examples for the OpenAPI schema of the monitoring routes (taken from the running app, trimmed)."""

from __future__ import annotations

from serving.schemas.admin_examples import NOW, USER_ID, Json

__all__ = [
    "DASHBOARD",
    "MODEL_USAGE",
    "RECENT_ERRORS",
    "RECENT_PREDICTIONS",
    "SAVED_SNAPSHOT",
    "SNAPSHOTS",
    "SYSTEM_USAGE",
]


SYSTEM_USAGE: Json = {
    "total_predictions": 1523,
    "total_api_calls": 3042,
    "total_errors": 5,
    "recent_api_calls_1h": 125,
    "recent_errors_24h": 2,
    "avg_response_time": 0.0245,
    "uptime": "1h 0m",
    "uptime_seconds": 3600.214,
}
MODEL_USAGE: Json = {
    "model_name": "ensemble_spy",
    "total_predictions": 523,
    "avg_confidence": 0.72,
    "avg_signal": 0.15,
    "buy_signals": 312,
    "sell_signals": 89,
    "hold_signals": 122,
    "last_prediction_at": NOW,
}
DASHBOARD: Json = {
    "generated_at": NOW,
    "scope": "user",
    "user_id": USER_ID,
    "system": SYSTEM_USAGE,
    "models": [MODEL_USAGE],
    "requests": {
        "by_route": [
            {
                "method": "POST",
                "route": "/api/v1/predictions/predict",
                "count": 523,
                "avg_duration_ms": 1.92,
                "errors": 3,
            },
        ],
        "by_status": {"200": 3037, "404": 3, "429": 2},
    },
    "errors": {"by_code": {"NOT_FOUND": 3, "RATE_LIMITED": 2}},
    "predictions_per_hour": [
        {"hour": "2024-07-10T14:00:00Z", "count": 131},
        {"hour": "2024-07-10T15:00:00Z", "count": 97},
    ],
}
RECENT_PREDICTIONS: Json = {
    "predictions": [
        {
            "id": 1523,
            "user_id": USER_ID,
            "endpoint": "/api/v1/predictions/predict",
            "model_name": "ensemble_spy",
            "model_version": "3",
            "symbol": "SPY",
            "timeframe": "1d",
            "signal": 0.65,
            "confidence": 0.75,
            "predicted_return": 0.0031,
            "value": 451.63,
            "direction": "up",
            "recommendation": "BUY",
            "current_price": 450.23,
            "latency_ms": 0.388,
            "request_id": "req_526f0aadcc0f89e1",
            "created_at": NOW,
        }
    ],
    "count": 1,
}
RECENT_ERRORS: Json = {
    "errors": [
        {
            "id": 5,
            "user_id": USER_ID,
            "request_id": "req_e412ed77860dbf47",
            "method": "GET",
            "path": "/api/v1/models/nope",
            "status_code": 404,
            "code": "NOT_FOUND",
            "message": "no registered model named 'nope'",
            "created_at": NOW,
        }
    ],
    "count": 1,
}
_SNAPSHOT = "metrics_20240710T153000_123456Z_305bee2f.json"
SAVED_SNAPSHOT: Json = {
    "status": "success",
    "name": _SNAPSHOT,
    "size_bytes": 7124,
    "created_at": NOW,
}
SNAPSHOTS: Json = {
    "files": [
        {
            "name": _SNAPSHOT,
            "user_id": USER_ID,
            "created_at": NOW,
            "size_bytes": 7124,
        },
    ],
    "count": 1,
}
