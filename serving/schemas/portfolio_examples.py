"""Examples for the OpenAPI schema of /portfolio and /portfolio/history."""

from __future__ import annotations

from typing import Any

__all__ = ["HISTORY", "PORTFOLIO"]

PORTFOLIO: dict[str, Any] = {
    "total_value": 10137.01,
    "cash": 3100.0,
    "reserved_cash": 1000.0,
    "free_cash": 2100.0,
    "positions": [
        {
            "symbol": "ETH/USDT",
            "side": "long",
            "quantity": 3.0,
            "entry_price": 2300.0,
            "current_price": 2345.67,
            "pnl": 137.01,
            "pnl_pct": 1.99,
            "opened_at": "2025-01-15T08:30:00Z",
        }
    ],
    "daily_pnl": 45.5,
    "daily_pnl_pct": 0.45,
    "total_pnl": 137.01,
    "total_pnl_pct": 1.37,
    "exchange_balances": [
        {
            "venue": "binance",
            "environment": "testnet",
            "asset": "USDT",
            "free": 4800.0,
            "total": 5000.0,
            "synced_at": "2025-01-15T08:00:00Z",
        }
    ],
}
HISTORY: list[Any] = [
    {"date": "2025-01-14T00:00:00Z", "value": 10091.51},
    {"date": "2025-01-15T00:00:00Z", "value": 10137.01},
]
