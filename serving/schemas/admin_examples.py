"""Examples for the OpenAPI schema: the error envelope, and answers of the health, auth, model and
metrics routes (taken from the running app, trimmed: lists cut to a few items)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ACCESS_TOKEN",
    "API_HEALTH",
    "API_KEY",
    "API_KEYS",
    "ERRORS",
    "HEALTH",
    "HOME_DIR",
    "INFO",
    "LEGACY_LOGIN",
    "LIVENESS",
    "ME",
    "MODEL_DELETED",
    "MODEL_DETAIL",
    "MODEL_LIST",
    "MODEL_RELOADED",
    "NEW_API_KEY",
    "NOW",
    "PROMETHEUS",
    "READINESS",
    "REFRESH_TOKEN",
    "REVOKED_API_KEY",
    "ROOT",
    "TOKENS",
    "TRAINED",
    "USER",
    "USER_ID",
    "Json", ]  # fmt: skip

Json = dict[str, Any]
NOW = "2024-07-10T15:30:00.123456Z"
USER_ID = "3af43759-728f-4bff-be37-d89f30a261d7"
_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzYWY0Mzc1OS...kCn8FuuyINsG"
REFRESH_TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzYWY0Mzc1OS...FTKTJW3KjtUA"
HOME_DIR = "/home/tradeforge/.tradeforge"

# --- errors ---------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, details: Json | None = None) -> Json:
    return {
        "status": "error",
        "error": {"code": code, "message": message, "details": details or {}},
        "detail": message,
        "status_code": status,
        "request_id": "req_b89fd7c89ea01b6d",
        "timestamp": NOW,
    }


_MISSING = "Object missing required field `model_name`"
ERRORS: dict[int, Json] = {
    400: _error(
        400,
        "VALIDATION_ERROR",
        f"data: {_MISSING}",
        {"errors": [{"message": _MISSING, "key": "data", "source": "body"}]},
    ),
    401: _error(
        401,
        "UNAUTHORIZED",
        "authentication required: send 'Authorization: Bearer <access token>' or 'X-API-Key: <key>'",
    ),
    403: _error(403, "FORBIDDEN", "deleting a registered model needs the admin role"),
    404: _error(404, "NOT_FOUND", "no registered model named 'ensemble_spy'"),
    409: _error(409, "CONFLICT", "username 'alice' is already taken"),
    413: _error(413, "PAYLOAD_TOO_LARGE", "Request Entity Too Large"),
    429: _error(
        429,
        "RATE_LIMITED",
        "rate limit of 100 requests per 3600 s exceeded; retry in 1260 s",
        {"limit": 100, "reset": 1720626660, "retry_after": 1260},
    ),
    503: _error(
        503,
        "SERVICE_UNAVAILABLE",
        "not ready: database unhealthy",
        {"database": "unhealthy: OperationalError"},
    ),
}

# --- health ---------------------------------------------------------------------------------------

_SERVICES = {"database": "healthy", "cache": "healthy", "ml_engine": "healthy", "market_data": "healthy"}
_SYSTEM = {
    "cpu_percent": 12.5,
    "cpu_count": 8,
    "load_average": [1.34, 1.45, 1.56],
    "memory_percent": 35.8,
    "memory_available_gb": 20.19,
    "memory_total_gb": 31.35,
    "disk_percent": 32.1,
    "disk_free_gb": 68.87,
}
ROOT: Json = {
    "message": "Welcome to the Deep Learning Platform",
    "name": "Tradeforge API",
    "version": "0.1.0",
    "status": "running",
    "description": "ML trading platform: predictions, models, market data, backtests, monitoring.",
    "docs": "/docs",
    "redoc": "/redoc",
    "openapi": "/openapi.json",
    "health": "/health",
    "metrics": "/metrics",
    "endpoints": {
        "auth": "/auth/login",
        "models": "/api/v1/models",
        "predictions": "/api/v1/predictions/predict",
        "predict": "/api/v1/predict",
        "market": "/api/v1/market/quote/{symbol}",
        "backtest": "/api/v1/backtest/run",
        "monitoring": "/api/v1/monitoring/system",
        "training": "/training/start",
        "trained_models": "/models",
    },
    "timestamp": NOW,
}
HEALTH: Json = {
    "status": "healthy",
    "timestamp": NOW,
    "version": "0.1.0",
    "uptime_seconds": 3600.214,
    "models_loaded": 2,
    "services": _SERVICES,
    "system": _SYSTEM,
}
INFO: Json = {
    "name": "Tradeforge API",
    "version": "0.1.0",
    "started_at": "2024-07-10T14:30:00.000000+00:00",
    "uptime_seconds": 3600.214,
    "configuration": {
        "home": HOME_DIR,
        "database": f"sqlite:///{HOME_DIR}/app.db",
        "mlflow_tracking_uri": f"sqlite:///{HOME_DIR}/mlflow/mlflow.db",
        "redis": "redis://127.0.0.1:6379/0",
        "rate_limits_per_window": {"free": 100, "pro": 1000, "enterprise": None},
        "rate_limit_window_seconds": 3600,
        "cors_origins": ["http://localhost:3000", "http://localhost:8000"],
        "stock_source": "synthetic",
        "crypto_source": "synthetic",
    },
    "models_loaded": [{"model_name": "lgbm_aapl", "version": "1", "load_seconds": 0.0164}],
    "strategies": ["bollinger_breakout", "buy_and_hold", "ml_predictive", "rsi_reversion", "sma_cross"],
    "model_types": ["simple", "random_forest", "xgboost", "lightgbm", "lstm", "ensemble", "multi_ohlc"],
    "system": {
        "python": "3.11.7",
        "platform": "Linux-6.8.0-x86_64-with-glibc2.36",
        "machine": "x86_64",
        "cuda_available": False,
        "process_id": 14601,
        **_SYSTEM,
    },
    "timestamp": NOW,
}
LIVENESS: Json = {"status": "alive", "version": "0.1.0", "timestamp": NOW}
READINESS: Json = {
    "status": "ready",
    "timestamp": NOW,
    "services": {"database": "healthy", "ml_engine": "healthy", "cache": "healthy"},
}
API_HEALTH: Json = {
    "status": "healthy",
    "timestamp": NOW,
    "services": _SERVICES,
    "metrics": {"uptime_seconds": 3600.214, "active_models": 2, "requests_per_minute": 42},
}

# --- auth -----------------------------------------------------------------------------------------

USER: Json = {
    "id": USER_ID,
    "username": "alice",
    "email": "alice@example.com",
    "full_name": "Alice Doe",
    "role": "user",
    "tier": "free",
    "is_active": True,
    "created_at": "2024-07-10T15:29:59.483719Z",
}
ME: Json = {**USER, "authenticated_via": "jwt"}
ACCESS_TOKEN: Json = {"access_token": _JWT, "token_type": "bearer", "expires_in": 1800}
TOKENS: Json = {**ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "user": USER}
LEGACY_LOGIN: Json = {"status": "success", "data": {**TOKENS, "token": _JWT}, **TOKENS}
API_KEY: Json = {
    "id": "8182fca7-70a3-41b7-9cd2-5bc1a260c2f9",
    "name": "trading-bot",
    "prefix": "tf_TB7BMS9q",
    "user_id": USER_ID,
    "created_at": "2024-07-10T15:30:00.976161+00:00",
    "last_used_at": None,
    "revoked_at": None,
    "active": True,
}
NEW_API_KEY: Json = {
    **API_KEY,
    "key": "tf_TB7BMS9qlybmL2KGl82TUmdcG6m5DbGdVUYGhxNcPH8",
    "note": "store this key now: it is not shown again",
}
API_KEYS: Json = {"keys": [{**API_KEY, "last_used_at": "2024-07-10T15:42:10.120000+00:00"}], "count": 1}
REVOKED_API_KEY: Json = {
    **API_KEY,
    "revoked_at": "2024-07-11T09:00:00.993661+00:00",
    "active": False,
    "status": "revoked",
}

# --- models ---------------------------------------------------------------------------------------

_METRICS = {
    "train_directional_accuracy": 0.6683,
    "val_directional_accuracy": 0.5245,
    "val_ic": 0.143,
    "val_rmse": 0.0102,
}
_TRAINED_AT = "2024-07-09T12:00:00.000000+00:00"
_MODEL_ROW = {
    "id": "lgbm_aapl",
    "name": "lgbm_aapl",
    "type": "lightgbm",
    "category": "machine_learning",
    "status": "active",
    "loaded": True,
    "accuracy": 0.5245,
    "trained_date": _TRAINED_AT,
    "model_name": "lgbm_aapl",
    "model_type": "lightgbm",
    "symbol": "AAPL",
    "timeframe": "1d",
    "device": "cpu",
    "versions": 1,
    "latest_version": "1",
    "champion_version": "1",
    "metrics": _METRICS,
    "last_trained": _TRAINED_AT,
}
MODEL_LIST: Json = {
    "models": [_MODEL_ROW],
    "count": 1,
    "pagination": {"page": 1, "limit": 20, "total_pages": 1, "total_items": 1},
}
MODEL_DETAIL: Json = {
    **_MODEL_ROW,
    "versions_detail": [
        {
            "version": "1",
            "aliases": ["champion"],
            "run_id": "e9ffa546fa524f2bb35466ccc7310940",
            "created_at": _TRAINED_AT,
            "device": "cpu",
            "metrics": _METRICS,
        }
    ],
    "loaded_versions": ["1"],
}
TRAINED: Json = {
    "status": "success",
    "model_name": "ensemble_spy",
    "version": "1",
    "run_id": "67a7371ee46142e99ff50e99f9b1b918",
    "model_type": "ensemble",
    "metrics": _METRICS,
    "champion": True,
    "decision": "first version: promoted to champion",
    "device": "cpu",
    "seconds": 45.32,
    "data_range": {
        "train_start": "2022-10-18T00:00:00+00:00",
        "train_end": "2023-10-02T00:00:00+00:00",
        "val_start": "2023-10-04T00:00:00+00:00",
        "val_end": "2023-12-29T00:00:00+00:00",
        "train_rows": "240",
        "val_rows": "60",
        "embargo_rows": "1",
    },
    "features_used": 101,
    "symbol": "SPY",
    "timeframe": "1d",
    "source": "synthetic",
    "dataset": "synthetic:SPY@1d",
    "parameters": {"random_state": 42},
    "message": "Model trained in 45.32s",
    "training_time": 45.32,
}
MODEL_DELETED: Json = {
    "status": "success",
    "model_name": "ensemble_spy",
    "message": "Model ensemble_spy deleted",
}
MODEL_RELOADED: Json = {
    "status": "success",
    "model_name": "ensemble_spy",
    "version": "3",
    "aliases": ["champion"],
    "load_seconds": 0.0164,
    "message": "Model ensemble_spy v3 reloaded",
}

PROMETHEUS = """# HELP tradeforge_http_requests_total HTTP requests by method, route template and status.
# TYPE tradeforge_http_requests_total counter
tradeforge_http_requests_total{method="POST",route="/api/v1/predictions/predict",status="200"} 523.0
# HELP tradeforge_models_loaded Model versions held in memory.
# TYPE tradeforge_models_loaded gauge
tradeforge_models_loaded 2.0
"""
