"""Examples for the OpenAPI schema of the live strategy routes under ``/api/strategies``."""

from __future__ import annotations

from typing import Any

__all__ = ["AVAILABLE", "CREATE", "DELETED", "STRATEGIES", "STRATEGY", "UPDATE"]

AVAILABLE: list[dict[str, Any]] = [
    {
        "name": "SmaCross",
        "description": "Long while SMA(fast) > SMA(slow), otherwise short (flat unless shorting is allowed).",
        "parameters": {
            "fast": {"type": "integer", "required": False, "default": 10, "description": "fast SMA period",
                     "minimum": 1},
            "slow": {"type": "integer", "required": False, "default": 20, "description": "slow SMA period",
                     "minimum": 2},
        },
    }
]  # fmt: skip

STRATEGY: dict[str, Any] = {
    "id": "6f1c2a9e-2b1d-4c55-9a0e-0a4f3c1d2e7b",
    "name": "SMA cross on majors",
    "type": "SmaCross",
    "status": "inactive",
    "params": {
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "timeframe": "1m",
        "broker": "paper",
        "capital": "10000",
        "fast": 10,
        "slow": 30,
    },
    "user_id": "0b6d1b8e-5d1f-4a51-8d4e-2f7c1a3b9c10",
    "created_at": "2026-01-15T10:30:00Z",
    "updated_at": "2026-01-15T10:30:00Z",
    "activated_at": None,
    "refused_orders": 0,
    "last_refusal": None,
}

STRATEGIES: list[dict[str, Any]] = [STRATEGY]

CREATE: dict[str, Any] = {
    "name": "SMA cross on majors",
    "type": "SmaCross",
    "params": {
        "symbols": ["BTC_USDT", "ETH_USDT"],
        "timeframe": "1m",
        "capital": 10000,
        "fast": 10,
        "slow": 30,
    },
}

UPDATE: dict[str, Any] = {
    "name": "SMA cross, slower",
    "params": {"symbols": ["BTC_USDT"], "fast": 10, "slow": 50},
}

DELETED: dict[str, Any] = {"id": STRATEGY["id"], "status": "deleted"}
