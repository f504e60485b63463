"""Examples for the OpenAPI schema of the status, metrics and ML routes under /api (taken from the
running app, trimmed), and the retrain request body."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.openapi.spec import Example
from litestar.params import Body

from serving.dto import Name, StrictBool
from serving.schemas.admin_examples import NOW, Json

__all__ = [
    "API_PROBE_HEALTH",
    "CONFIG",
    "CONFIG_PATCH",
    "CONFIG_UPDATED",
    "ML_PERFORMANCE",
    "ML_PREDICTIONS",
    "ML_PROMETHEUS",
    "PROMETHEUS_ALL",
    "RETRAIN",
    "RETRAIN_STARTED",
    "SYSTEM_PROMETHEUS",
    "SYSTEM_STATUS",
    "TRADING_PROMETHEUS",
    "ConfigPatchBody",
    "Retrain",
    "RetrainBody",
]


def _envelope(data: Json) -> Json:
    return {"status": "success", "data": data, "timestamp": NOW}


API_PROBE_HEALTH: Json = {
    "status": "healthy",
    "version": "0.1.0",
    "timestamp": NOW,
    "services": {
        "backend": "healthy",
        "database": "healthy",
        "redis": "healthy",
        "ml_engine": "healthy",
        "market_data": "healthy",
    },
}
SYSTEM_STATUS: Json = _envelope(
    {
        "uptime": "2d 5h 30m 12s",
        "uptime_seconds": 192612.408,
        "version": "0.1.0",
        "environment": "production",
        "services": {
            "database": {"status": "healthy", "connections": 5, "max_connections": 100},
            "redis": {"status": "healthy", "memory_usage": "1.45M", "keys": 1250},
            "trading": {"status": "idle", "active_trades": 0, "total_volume": "0.00"},
        },
    }
)
ML_PREDICTIONS: Json = _envelope(
    {
        "predictions": [
            {
                "id": "pred_789",
                "symbol": "BTC/USDT",
                "model_type": "lightgbm_btc_usdt_1h",
                "model_version": "3",
                "timeframe": "1h",
                "prediction": 0.41,
                "confidence": 0.72,
                "predicted_return": 0.0042,
                "direction": "up",
                "recommendation": "BUY",
                "current_price": 45000.0,
                "features": {"rsi": 45.2, "macd": 0.15, "bollinger_position": 0.3},
                "timestamp": NOW,
            }
        ],
        "count": 1,
    }
)
ML_PERFORMANCE: Json = _envelope(
    {
        "models": [
            {
                "name": "lightgbm_btc_usdt_1h",
                "type": "lightgbm",
                "symbol": "BTC/USDT",
                "timeframe": "1h",
                "version": "3",
                "accuracy": 0.548,
                "precision": 0.561,
                "recall": 0.602,
                "f1_score": 0.581,
                "last_trained": "2024-07-10T08:00:00.512000Z",
                "training_samples": 10000,
                "training_seconds": 41.7,
                "status": "active",
            }
        ],
        "overall_performance": {
            "average_accuracy": 0.548,
            "total_predictions": 50000,
            "successful_predictions": 50000,
            "models_evaluated": 1,
        },
    }
)
RETRAIN: Json = {"model_type": "lightgbm_btc_usdt_1h", "force": False}
RETRAIN_STARTED: Json = _envelope(
    {
        "model_type": "lightgbm_btc_usdt_1h",
        "training_started": NOW,
        "estimated_duration": "42s",
        "status": "queued",
        "job_id": "5b0c2f7e-3c1d-4a8e-9f6b-2d4e8a1c7b90",
        "job_url": "/api/v1/jobs/5b0c2f7e-3c1d-4a8e-9f6b-2d4e8a1c7b90",
    }
)
_HTTP = """# HELP tradeforge_http_requests_total HTTP requests by method, route template and status.
# TYPE tradeforge_http_requests_total counter
tradeforge_http_requests_total{method="GET",route="/api/status",status="200"} 150.0
"""
TRADING_PROMETHEUS = (
    "# HELP tradeforge_trading_errors_total Rejected orders by reason (a risk rule, insufficient_balance, "
    "trading_disabled, other) and broker.\n"
    """# TYPE tradeforge_trading_errors_total counter
tradeforge_trading_errors_total{error_type="insufficient_balance",service="paper"} 2.0
# HELP tradeforge_active_trades_total Open trades.
# TYPE tradeforge_active_trades_total gauge
tradeforge_active_trades_total 3.0
# HELP tradeforge_trading_volume_usd Notional of the open trades at their latest price, in USD.
# TYPE tradeforge_trading_volume_usd gauge
tradeforge_trading_volume_usd 12450.5
# HELP tradeforge_dca_successful_attempts_total DCA orders placed.
# TYPE tradeforge_dca_successful_attempts_total counter
tradeforge_dca_successful_attempts_total 4.0
"""
    "# HELP tradeforge_dca_failed_attempts_total DCA orders refused, by reason (a risk rule, "
    "insufficient_balance, trading_disabled, other).\n"
    """# TYPE tradeforge_dca_failed_attempts_total counter
tradeforge_dca_failed_attempts_total{reason="max_position_size"} 1.0
"""
)
ML_PROMETHEUS = """# HELP tradeforge_ml_predictions_total Predictions by model and status.
# TYPE tradeforge_ml_predictions_total counter
tradeforge_ml_predictions_total{model_type="lgbm_aapl",status="success"} 1000.0
# HELP tradeforge_ml_model_accuracy Validation directional accuracy of each model's serving version.
# TYPE tradeforge_ml_model_accuracy gauge
tradeforge_ml_model_accuracy{model_type="lgbm_aapl"} 0.548
# HELP tradeforge_ml_training_duration_seconds Seconds each model's serving version took to train.
# TYPE tradeforge_ml_training_duration_seconds gauge
tradeforge_ml_training_duration_seconds{model_type="lgbm_aapl"} 41.7
"""
SYSTEM_PROMETHEUS = """# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.073741824e+09
# HELP tradeforge_cpu_usage_percent Host CPU use since the last scrape, in percent.
# TYPE tradeforge_cpu_usage_percent gauge
tradeforge_cpu_usage_percent 45.2
# HELP tradeforge_disk_usage_bytes Bytes used on the volume of the app's home.
# TYPE tradeforge_disk_usage_bytes gauge
tradeforge_disk_usage_bytes 5.36870912e+09
"""
PROMETHEUS_ALL = _HTTP + TRADING_PROMETHEUS + ML_PROMETHEUS + SYSTEM_PROMETHEUS


class Retrain(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A registered model to train again (``model_type`` names it, as the ML clients call it)."""

    model_type: Name
    force: StrictBool = False


RetrainBody = Annotated[Retrain, Body(examples=[Example(summary="a registered model", value=RETRAIN)])]


CONFIG: Json = _envelope(
    {
        "trading": {
            "enabled": True,
            "max_position_size": "1000.00",
            "daily_loss_limit": "100.00",
            "max_drawdown": "0.10",
            "kill_switch": False,
            "allow_short": False,
        },
        "dca": {
            "enabled": True,
            "max_attempts": 5,
            "base_volume": "100.00",
            "volume_scaling": 1.5,
            "step": "0.02",
        },
        "ml": {"enabled": True, "confidence_threshold": 0.8, "update_frequency": "1h"},
        "risk": {"safu_enabled": True, "stop_loss": "0.05", "take_profit": "0.10"},
    }
)
CONFIG_PATCH: Json = {
    "trading": {"max_position_size": "2000.00", "daily_loss_limit": "200.00"},
    "dca": {"max_attempts": 7, "base_volume": "150.00"},
}
CONFIG_UPDATED: Json = _envelope(
    {
        "message": "Configuration updated successfully",
        "updated_fields": [
            "trading.max_position_size",
            "trading.daily_loss_limit",
            "dca.max_attempts",
            "dca.base_volume",
        ],
    }
)

ConfigPatchBody = Annotated[
    dict[str, Any],
    Body(
        description="The sections and fields to change (each section an object of fields)",
        examples=[Example(summary="raise the position limits and DCA attempts", value=CONFIG_PATCH)],
    ),
]
