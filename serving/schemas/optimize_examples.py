"""Example answer of ``POST /api/v1/backtest/optimize``."""

from __future__ import annotations

from typing import Any

from serving.schemas.trading_examples import BACKTEST

__all__ = ["OPTIMIZE_RESULT"]

_OUT = {**BACKTEST["metrics"], "sharpe_ratio": 0.81, "total_return": 0.042, "num_trades": 6}
OPTIMIZE_RESULT: dict[str, Any] = {
    "symbol": "SPY",
    "timeframe": "1d",
    "source": "yfinance",
    "period": {"start": "2020-01-01", "end": "2024-01-01"},
    "strategy": "sma_cross",
    "objective": "sharpe",
    "study_name": "spy-sma",
    "fixed": {},
    "config": BACKTEST["config"],
    "best_params": {"fast": 12, "slow": 48},
    "best_value": 1.62,
    "in_sample": BACKTEST["metrics"],
    "out_of_sample": _OUT,
    "split": {
        "search_start": "2020-01-02T00:00:00+00:00",
        "search_end": "2023-03-13T00:00:00+00:00",
        "holdout_start": "2023-03-14T00:00:00+00:00",
        "holdout_end": "2023-12-29T00:00:00+00:00",
        "search_bars": 804,
        "holdout_bars": 202,
    },
    "trials_total": 3,
    "trials_complete": 1,
    "trials_pruned": 1,
    "trials_skipped": 1,
    "trials_failed": 0,
    "trials": [
        {"number": 0, "state": "complete", "params": {"fast": 12, "slow": 48}, "value": 1.62},
        {
            "number": 1,
            "state": "pruned",
            "params": {"fast": 40, "slow": 20},
            "value": None,
            "note": "breaks fast < slow",
        },
        {"number": 2, "state": "pruned", "params": {"fast": 90, "slow": 120}, "value": None},
    ],
    "benchmark": BACKTEST["benchmark"],
    "benchmark_in_sample": {
        **BACKTEST["benchmark"],
        "common_bars": 804,
        "excess_return": 0.066,
        "excess_annual_return": 0.021,
        "information_ratio": 0.18,
        "verdict": "beat buy and hold of SPY by 2.1% a year",
    },
    "significance": {
        **BACKTEST["significance"],
        "trials": 1,
        "in_sample_sharpe": 1.62,
        "out_of_sample_sharpe": 0.81,
        "overfitting": None,
    },
    "trust": [
        {"label": "in sample", "text": "beat buy and hold of SPY by 2.1% a year"},
        {
            "label": "out of sample",
            "text": "Sharpe 0.81 over the 202 held-out bars; did not beat buy and hold of SPY "
            "(4.2% a year behind)",
        },
        {"label": "verdict", "text": "Sharpe ratio above 0: not significant at 95%"},
    ],
    "heatmap": ["fast", "slow"],
    "mlflow_run_id": "5f1c2a9d8e7b4c3a9f0e1d2c3b4a5968",
    "status": "success",
}
