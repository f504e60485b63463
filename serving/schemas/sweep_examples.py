"""An example answer of a parameter sweep (``/api/v1/backtest/sweep``)."""

from __future__ import annotations

from typing import Any

__all__ = ["SWEEP"]

_ROW_METRICS = {
    "total_return": 0.214,
    "annual_return": 0.216,
    "sharpe_ratio": 1.41,
    "sortino_ratio": 2.02,
    "calmar_ratio": 2.37,
    "max_drawdown": -0.091,
    "volatility": 0.142,
    "num_trades": 6,
    "win_rate": 0.5,
    "profit_factor": 2.8,
    "winning_trades": 3,
    "losing_trades": 3,
    "exposure": 0.61,
}
_BEST_METRICS = {
    **_ROW_METRICS,
    "avg_win": 1012.4,
    "avg_loss": -301.7,
    "avg_trade_duration": 25.3,
    "avg_trade_duration_seconds": 3280320.0,
}
SWEEP: dict[str, Any] = {
    "symbol": "SPY",
    "timeframe": "1d",
    "period": {"start": "2023-01-01", "end": "2024-01-01"},
    "strategy": "sma_cross",
    "parameters": ["fast", "slow"],
    "fixed_params": {},
    "constraints": ["fast < slow"],
    "objective": "sharpe_ratio",
    "grid_size": 40,
    "feasible": 32,
    "combinations": 32,
    "sample": None,
    "seed": None,
    "vectorized": True,
    "seconds": 0.41,
    "config": {
        "initial_capital": 10000.0,
        "commission": 0.001,
        "slippage": 0.0,
        "position_size": 1.0,
        "allow_short": False,
        "stop_loss": None,
        "take_profit": None,
        "timeframe": "1d",
        "crypto": False,
    },
    "best": {
        "rank": 1,
        "params": {"fast": 10, "slow": 50},
        "metrics": _BEST_METRICS,
        "final_equity": 12140.0,
    },
    "results": [
        {"rank": 1, "params": {"fast": 10, "slow": 50}, "metrics": _ROW_METRICS},
        {
            "rank": 2,
            "params": {"fast": 15, "slow": 50},
            "metrics": {**_ROW_METRICS, "sharpe_ratio": 1.22, "total_return": 0.183, "num_trades": 5},
        },
    ],
    "results_total": 32,
    "results_truncated": True,
    "significance": {
        "observations": 249,
        "sharpe_ratio": 1.41,
        "sharpe_std_error": 1.03,
        "skewness": -0.2,
        "kurtosis": 4.4,
        "psr_vs_zero": 0.91,
        "benchmark_sharpe": None,
        "psr_vs_benchmark": None,
        "min_track_record_bars": 690.0,
        "min_track_record_years": 2.74,
        "trials": 32,
        "trials_sharpe_variance": 0.31,
        "expected_max_sharpe": 1.18,
        "deflated_sharpe": 0.59,
        "confidence": 0.95,
        "significant": False,
        "verdict": "deflated Sharpe ratio: not significant at 95%",
        "overfitting": {
            "pbo": 0.44,
            "partitions": 16,
            "combinations": 12870,
            "trials": 32,
            "median_logit": 0.21,
        },
    },
    "heatmap": {"x": "fast", "y": "slow", "aggregate": "mean"},
    "mlflow_run_id": "0270c0a8098a4ec89e8b05a8821f625e",
    "status": "success",
}
