"""Examples for the OpenAPI schema of the ``/api/market`` and ``/api/models`` routes."""

from __future__ import annotations

from typing import Any

__all__ = ["CANDLES", "CATALOGUE", "CATALOGUE_MODEL", "SYMBOLS"]

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
