"""Examples for the OpenAPI schema of the ``/api/market``, ``/api/models`` and ``/api/predictions``
routes."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CANDLES",
    "CATALOGUE",
    "CATALOGUE_MODEL",
    "FORECAST",
    "PREDICTION_LIST",
    "PREDICTION_QUEUED",
    "PREDICTION_RESULT",
    "PREDICTION_STREAM",
    "SYMBOLS",
    "TRAIN",
    "TRAINING_QUEUED",
]

CANDLES: list[dict[str, Any]] = [
    {
        "timestamp": "2025-01-01T00:00:00Z",
        "open": 2300.5,
        "high": 2350.75,
        "low": 2280.0,
        "close": 2345.25,
        "volume": 15234.56,
    },
    {
        "timestamp": "2025-01-01T01:00:00Z",
        "open": 2345.25,
        "high": 2361.1,
        "low": 2331.4,
        "close": 2352.8,
        "volume": 12890.12,
    },
]
SYMBOLS: dict[str, Any] = {"symbols": ["BTC_USDT", "ETH_USDT", "SOL_USDT"], "asset_type": "crypto"}
CATALOGUE_MODEL: dict[str, Any] = {
    "name": "ETH_USDT_1m_300steps_multi_ohlc",
    "type": "multi_ohlc",
    "symbol": "ETH_USDT",
    "timeframe": "1m",
    "n_steps_ahead": 300,
    "model_size_kb": 2456.78,
    "trained_at": "2025-01-15T08:30:00Z",
    "performance": {
        "train_r2": 0.9234,
        "val_r2": 0.8876,
        "train_mae": 12.45,
        "val_mae": 15.32,
        "train_rmse": 18.67,
        "val_rmse": 22.14,
    },
}
CATALOGUE: list[dict[str, Any]] = [CATALOGUE_MODEL]
TRAIN: dict[str, Any] = {"symbol": "ETH_USDT", "timeframe": "1m", "n_steps_ahead": 300, "days_history": 30}
TRAINING_QUEUED: dict[str, Any] = {
    "status": "queued",
    "task_id": "5f0c7c9e-8d1a-4b7e-9a57-2f1e4f7f2c11",
    "queue_position": 3,
    "reason": "Insufficient RAM: 8.5 GB available, 12.0 GB required",
    "message": "Model training queued due to insufficient resources. Position in queue: 3",
}
FORECAST: dict[str, Any] = {
    "timestamp": "2025-01-15T10:30:00Z",
    "current_price": 2345.67,
    "predictions": [
        {
            "step": 1,
            "minutes_ahead": 1,
            "predicted_open": 2346.12,
            "predicted_high": 2348.5,
            "predicted_low": 2344.8,
            "predicted_close": 2347.25,
            "predicted_return": 0.000673,
            "confidence": 0.85,
            "timestamp": "2025-01-15T10:31:00Z",
        }
    ],
    "smoothness_score": 0.92,
    "model_trained": False,
    "model_name": "ETH_USDT_1m_300steps_multi_ohlc",
    "model_age_days": 1,
}
_ID = "0b8e3f4a-2c51-4d0e-9f3b-7a6c5d4e3f21"
PREDICTION_QUEUED: dict[str, Any] = {
    "status": "queued",
    "prediction_id": _ID,
    "task_id": _ID,
    "queue_position": 2,
    "reason": "Insufficient RAM: 8.5 GB available, 12.0 GB required",
    "message": f"Prediction queued. Position in queue: 2. Check status at /api/predictions/{_ID}",
}
_RECORD: dict[str, Any] = {
    "id": _ID,
    "symbol": "ETH_USDT",
    "timeframe": "1m",
    "status": "completed",
    "created_at": "2025-01-15T10:30:00Z",
}
PREDICTION_LIST: list[dict[str, Any]] = [_RECORD]
PREDICTION_RESULT: dict[str, Any] = {
    **FORECAST,
    **{k: v for k, v in _RECORD.items() if k != "id"},
    "prediction_id": _ID,
}
PREDICTION_STREAM = (
    "event: status\n"
    'data: {"step": "check", "status": "in-progress", "title": "Checking for model", '
    '"message": "Looking for a trained model of ETH_USDT 1m..."}\n\n'
    "event: complete\n"
    'data: {"timestamp": "2025-01-15T10:30:00Z", "current_price": 2345.67, "predictions": [], '
    '"model_name": "ETH_USDT_1m_300steps_multi_ohlc"}\n\n'
)
