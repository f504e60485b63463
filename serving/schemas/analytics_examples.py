"""Examples for the OpenAPI schema of the analytics routes under /api/analytics (taken from the
running app on the synthetic market, trimmed)."""

from __future__ import annotations

from serving.schemas.admin_examples import NOW, Json

__all__ = ["MARKET", "PERFORMANCE", "RISK"]

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

PERFORMANCE: Json = {
    "status": "success",
    "data": {
        "period": "30d",
        "symbol": None,
        "start_date": "2025-01-13",
        "end_date": "2025-01-15",
        "metrics": {
            "total_return": 0.015,
            "total_return_percent": "1.5%",
            "sharpe_ratio": 11.2,
            "max_drawdown": 0.0,
            "max_drawdown_percent": "0%",
            "win_rate": 0.5,
            "average_win": 0.02,
            "average_loss": -0.01,
            "profit_factor": 2.0,
            "total_trades": 2,
            "winning_trades": 1,
            "losing_trades": 1,
        },
        "daily_returns": [
            {"date": "2025-01-14", "return": 0.01, "return_percent": "1%"},
            {"date": "2025-01-15", "return": 0.00495, "return_percent": "0.5%"},
        ],
    },
    "timestamp": NOW,
}
RISK: Json = {
    "status": "success",
    "data": {
        "portfolio_risk": "medium",
        "var_95": 0.03,
        "var_99": 0.05,
        "beta": 1.2,
        "correlation_matrix": {"BTC/USDT": {"ETH/USDT": 0.85}, "ETH/USDT": {"BTC/USDT": 0.85}},
        "concentration_risk": 0.62,
        "liquidity_risk": "low",
        "notes": [],
    },
    "timestamp": NOW,
}
