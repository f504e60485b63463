"""Examples for the OpenAPI schema of the ``/api/backtests`` routes."""

from __future__ import annotations

from typing import Any

__all__ = ["BACKTEST", "BACKTESTS", "FAILED", "RUN_BODY", "SSE_EXAMPLE", "STARTED"]

_ID = "0b6f7c4e-3d52-4d8e-9a51-2f0f4c1a8e77"
BACKTEST: dict[str, Any] = {
    "id": _ID,
    "status": "success",
    "strategy": "MLPredictive",
    "symbol": "ETH_USDT",
    "timeframe": "1d",
    "start_date": "2025-01-01T00:00:00Z",
    "end_date": "2025-01-15T00:00:00Z",
    "initial_capital": 10000.0,
    "created_at": "2025-01-15T10:30:00Z",
    "performance": {
        "total_return": 0.1234,
        "sharpe_ratio": 1.45,
        "max_drawdown": -0.0856,
        "win_rate": 0.62,
        "sortino_ratio": 1.87,
        "calmar_ratio": 1.44,
    },
    "trading": {
        "total_trades": 42,
        "winning_trades": 26,
        "losing_trades": 16,
        "avg_win": 45.67,
        "avg_loss": -23.45,
        "avg_trade_duration": 125.5,
        "profit_factor": 1.95,
    },
    "benchmark": {
        "strategy": "buy_and_hold",
        "symbol": "ETH_USDT",
        "total_return": 0.0412,
        "annual_return": 1.8651,
        "sharpe_ratio": 2.31,
        "max_drawdown": -0.0921,
        "final_equity": 10412.0,
        "common_bars": 15,
        "excess_return": 0.0822,
        "excess_annual_return": 17.908,
        "tracking_error": 0.41,
        "information_ratio": 3.02,
        "beta": 0.12,
        "alpha": 2.95,
        "verdict": "beat buy and hold of ETH_USDT by 1790.8% a year",
        "others": [],
    },
    "significance": {
        "observations": 14,
        "sharpe_ratio": 1.45,
        "sharpe_std_error": 5.22,
        "skewness": 0.42,
        "kurtosis": 2.61,
        "psr_vs_zero": 0.609,
        "benchmark_sharpe": 2.31,
        "psr_vs_benchmark": 0.435,
        "min_track_record_bars": 456.8,
        "min_track_record_years": 1.25,
        "trials": 1,
        "trials_sharpe_variance": None,
        "expected_max_sharpe": None,
        "deflated_sharpe": None,
        "confidence": 0.95,
        "significant": False,
    },
}
FAILED: dict[str, Any] = {
    **{k: v for k, v in BACKTEST.items() if k not in ("performance", "trading", "benchmark", "significance")},
    "id": "9d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    "status": "failed",
    "error": "only 1 bar(s) from 2025-01-01: nothing to trade",
}
BACKTESTS: list[dict[str, Any]] = [BACKTEST, FAILED]
RUN_BODY: dict[str, Any] = {
    "strategy": "MLPredictive",
    "symbol": "ETH_USDT",
    "start_date": "2025-01-01T00:00:00Z",
    "end_date": "2025-01-15T00:00:00Z",
    "initial_capital": 10000.0,
    "params": {"model_path": "ETH_USDT_1d_returns", "position_size": 0.1, "stop_loss_pct": 0.02},
}
STARTED: dict[str, Any] = {
    "status": "queued",
    "backtest_id": _ID,
    "task_id": _ID,
    "queue_position": 1,
    "reason": None,
    "message": "Backtest queued. Position in queue: 1",
}
SSE_EXAMPLE = (
    'event: status\ndata: {"step": "queued", "status": "in-progress", "title": "Backtest queued", '
    '"message": "Position in queue: 1", "progress": 0.0, "backtest_id": "..."}\n\n'
    'event: status\ndata: {"step": "run", "status": "in-progress", "title": "Running backtest", '
    '"message": "Running backtest for ETH_USDT: loading data...", "progress": 5.0, "backtest_id": "..."}\n\n'
    'event: complete\ndata: {"id": "...", "status": "success", "strategy": "MLPredictive", "performance": '
    '{"total_return": 0.1234, "...": "..."}, "trading": {"total_trades": 42, "...": "..."}}\n\n'
)
