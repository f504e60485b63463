"""Examples for the OpenAPI schema of the analytics routes under /api/analytics (taken from the
running app on the synthetic market, trimmed)."""

from __future__ import annotations

from serving.schemas.admin_examples import NOW, Json

__all__ = ["MARKET"]

MARKET: Json = {
    "status": "success",
    "data": {
        "symbol": "BTCUSDT",
        "timeframe": "1h",
        "candles": [
            {
                "timestamp": "2025-01-14T23:00:00Z",
                "open": "20253.50",
                "high": "20281.93",
                "low": "20209.02",
                "close": "20238.61",
                "volume": "2098.754679",
            },
            {
                "timestamp": "2025-01-15T00:00:00Z",
                "open": "20238.61",
                "high": "20262.14",
                "low": "20052.37",
                "close": "20069.06",
                "volume": "2410.088967",
            },
        ],
        "indicators": {
            "rsi": 34.12105848778453,
            "macd": -60.34440950809949,
            "bollinger_upper": "20372.16104130511",
            "bollinger_lower": "20134.64195869489",
            "bollinger_middle": "20253.4015",
        },
    },
    "timestamp": NOW,
}
