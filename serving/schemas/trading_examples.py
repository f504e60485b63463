"""Examples of the prediction, market-data and backtest answers for the OpenAPI schema (taken from the
running app, trimmed: lists cut to a few items)."""

from __future__ import annotations

from typing import Any

from serving.schemas.admin_examples import NOW

__all__ = [
    "BACKTEST", "BATCH_PREDICTED", "COMPARISON", "ENSEMBLE_PREDICTED", "HISTORY", "METRIC_CATALOG",
    "PREDICTED", "QUOTE", "SIGNAL_HISTORY", "SIGNAL_PREDICTED", "WALK_FORWARD_RESULT",
]  # fmt: skip

Json = dict[str, Any]

# --- predictions ----------------------------------------------------------------------------------

_PREDICTION = {
    "model_name": "ensemble_spy",
    "model_version": "3",
    "model_kind": "ensemble",
    "symbol": "SPY",
    "timeframe": "1d",
    "timestamp": "2024-07-10T00:00:00Z",
    "latest_date": "2024-07-10",
    "current_price": 450.23,
    "predicted_return": 0.0031,
    "value": 451.63,
    "direction": "up",
    "signal": 0.65,
    "confidence": 0.75,
    "recommendation": "BUY",
    "horizon": 1,
    "features_used": 101,
    "data_points": 1228,
    "source": "synthetic",
    "computation_time_ms": 0.388,
}
_QQQ = {
    **_PREDICTION,
    "symbol": "QQQ",
    "current_price": 329.5,
    "predicted_return": -0.0061,
    "value": 327.51,
    "direction": "down",
    "signal": -0.4,
    "confidence": 0.45,
    "recommendation": "SELL",
}
PREDICTED: Json = {
    "status": "success",
    "prediction": {
        **_PREDICTION,
        "model_kind": "random_forest",
        "model_name": "rf_aapl",
        "symbol": "AAPL",
        "current_price": 175.25,
        "value": 175.5,
        "model": "random_forest",
    },
    "metadata": {
        "model_name": "rf_aapl",
        "model_type": "random_forest",
        "model_version": "2",
        "features_used": 101,
        "computation_time_ms": 0.388,
        "data_points": 1228,
        "horizon": 1,
        "source": "synthetic",
        "features_requested": {
            "RSI": ["rsi_7", "rsi_14"],
            "MACD": ["macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9"],
            "BB": ["bb_upper_20_2", "bb_middle_20_2", "bb_lower_20_2"],
        },
        "volume_features": ["obv", "vwap"],
    },
}
BATCH_PREDICTED: Json = {
    "status": "success",
    "model": "ensemble_spy",
    "model_name": "ensemble_spy",
    "predictions": [_PREDICTION, _QQQ],
    "errors": [{"symbol": "IWM", "code": "NOT_FOUND", "message": "no bars for IWM at 1d"}],
    "summary": {
        "total": 3,
        "successful": 2,
        "failed": 1,
        "buy_signals": 1,
        "sell_signals": 1,
        "hold_signals": 0,
    },
    "timestamp": NOW,
}
SIGNAL_PREDICTED: Json = {
    **_PREDICTION,
    "metadata": {
        "model_type": "ensemble",
        "model_version": "3",
        "data_points": 60,
        "bars_available": 1228,
        "days_lookback": 60,
        "latest_date": "2024-07-10",
        "features_used": 101,
        "computation_time_ms": 0.388,
    },
}
ENSEMBLE_PREDICTED: Json = {
    "models_used": ["model1", "model2", "model3"],
    "symbol": "SPY",
    "timestamp": "2024-07-10T00:00:00Z",
    "ensemble_signal": 0.58,
    "ensemble_confidence": 0.72,
    "individual_predictions": [
        {"model_name": "model1", "signal": 0.65, "confidence": 0.75, "weight": 0.5, "weighted_signal": 0.325},
        {"model_name": "model2", "signal": 0.5, "confidence": 0.7, "weight": 0.3, "weighted_signal": 0.15},
        {
            "model_name": "model3",
            "signal": 0.525,
            "confidence": 0.68,
            "weight": 0.2,
            "weighted_signal": 0.105,
        },
    ],
    "recommendation": "BUY",
    "current_price": 450.23,
}
_POINT = {"timestamp": "2024-07-09T00:00:00Z", "price": 448.1, "predicted_return": 0.0012, "signal": 0.12}
SIGNAL_HISTORY: Json = {
    "model_name": "ensemble_spy",
    "model_version": "3",
    "symbol": "SPY",
    "timeframe": "1d",
    "source": "synthetic",
    "days": 2,
    "count": 2,
    "signals": [
        {**_POINT, "confidence": 0.21, "recommendation": "HOLD"},
        {
            **_POINT,
            "timestamp": "2024-07-10T00:00:00Z",
            "price": 450.23,
            "signal": 0.65,
            "confidence": 0.75,
            "recommendation": "BUY",
        },
    ],
}

# --- market ---------------------------------------------------------------------------------------

QUOTE: Json = {
    "symbol": "AAPL",
    "price": 175.25,
    "change": 2.5,
    "change_percent": 1.4472,
    "volume": 45678900.0,
    "timestamp": "2024-07-10T00:00:00Z",
    "previous_close": 172.75,
    "source": "synthetic",
    "timeframe": "1d",
}
HISTORY: Json = {
    "symbol": "AAPL",
    "period": "5d",
    "interval": "1d",
    "source": "synthetic",
    "timeframe": "1d",
    "resampled": False,
    "start": "2024-07-09T00:00:00Z",
    "end": "2024-07-10T00:00:00Z",
    "count": 2,
    "bars": [
        {
            "timestamp": "2024-07-09T00:00:00Z",
            "open": 171.9,
            "high": 173.1,
            "low": 171.4,
            "close": 172.75,
            "volume": 41230000.0,
        },
        {
            "timestamp": "2024-07-10T00:00:00Z",
            "open": 173.0,
            "high": 175.9,
            "low": 172.8,
            "close": 175.25,
            "volume": 45678900.0,
        },
    ],
}

# --- backtests ------------------------------------------------------------------------------------

_RESULTS = {
    "total_return": 0.201,
    "annual_return": 0.201,
    "sharpe_ratio": 1.62,
    "sortino_ratio": 2.31,
    "calmar_ratio": 3.09,
    "max_drawdown": -0.065,
    "volatility": 0.118,
    "num_trades": 45,
    "win_rate": 0.58,
    "profit_factor": 1.74,
    "avg_win": 1210.4,
    "avg_loss": -962.8,
    "avg_trade_duration": 3.2,
    "avg_trade_duration_seconds": 276480.0,
    "winning_trades": 26,
    "losing_trades": 19,
    "exposure": 0.57,
}
_FLAT = {
    **{k: None for k in _RESULTS},
    "total_return": 0.0,
    "annual_return": 0.0,
    "max_drawdown": 0.0,
    "volatility": 0.0,
    "num_trades": 0,
    "winning_trades": 0,
    "losing_trades": 0,
    "exposure": 0.0,
}
_CURVE = [
    ["2023-01-03T00:00:00+00:00", 100000.0],
    ["2023-01-04T00:00:00+00:00", 100412.5],
    ["2023-01-05T00:00:00+00:00", 99870.2],
]
_TRADE = {
    "entry_time": "2023-04-17T00:00:00+00:00",
    "exit_time": "2023-04-20T00:00:00+00:00",
    "entry_bar": 70,
    "exit_bar": 73,
    "side": "long",
    "size": 355.27,
    "entry_price": 281.47,
    "exit_price": 285.02,
    "pnl": 1061.2,
    "pnl_pct": 0.0106,
    "commission": 200.25,
    "duration_bars": 3,
    "duration_seconds": 259200.0,
    "exit_reason": "signal",
}
_PERIOD = {"start": "2023-01-01", "end": "2024-01-01"}
_BENCHMARK = {
    "strategy": "buy_and_hold",
    "symbol": "SPY",
    "total_return": 0.241,
    "annual_return": 0.243,
    "sharpe_ratio": 1.83,
    "max_drawdown": -0.101,
    "final_equity": 124100.0,
    "common_bars": 250,
    "excess_return": -0.04,
    "excess_annual_return": -0.042,
    "tracking_error": 0.08,
    "information_ratio": -0.52,
    "beta": 0.61,
    "alpha": 0.05,
    "verdict": "did not beat buy and hold of SPY (4.2% a year behind)",
    "others": [],
}
_SIGNIFICANCE = {
    "observations": 249,
    "sharpe_ratio": 1.62,
    "sharpe_std_error": 1.02,
    "skewness": -0.3,
    "kurtosis": 4.1,
    "psr_vs_zero": 0.915,
    "benchmark_sharpe": 1.83,
    "psr_vs_benchmark": 0.34,
    "min_track_record_bars": 675.0,
    "min_track_record_years": 2.68,
    "trials": 1,
    "trials_sharpe_variance": None,
    "expected_max_sharpe": None,
    "deflated_sharpe": None,
    "confidence": 0.95,
    "significant": False,
    "verdict": "Sharpe ratio above 0: not significant at 95%",
}
BACKTEST: Json = {
    "model_name": "ensemble_spy",
    "strategy": "ml_predictive",
    "params": {"model_name": "ensemble_spy"},
    "symbol": "SPY",
    "timeframe": "1d",
    "period": _PERIOD,
    "config": {
        "initial_capital": 100000.0,
        "commission": 0.001,
        "slippage": 0.0,
        "position_size": 1.0,
        "allow_short": False,
        "stop_loss": None,
        "take_profit": None,
        "timeframe": "1d",
        "crypto": False,
    },
    "metrics": _RESULTS,
    "final_equity": 120100.0,
    "num_bars": 250,
    "equity_curve": _CURVE,
    "equity_curve_points": len(_CURVE),
    "equity_curve_total_points": len(_CURVE),
    "equity_curve_downsampled": False,
    "trades": [_TRADE],
    "trades_total": 1,
    "trades_truncated": False,
    "full_curve": None,
    "benchmark": _BENCHMARK,
    "significance": _SIGNIFICANCE,
    "status": "success",
}
COMPARISON: Json = {
    "symbol": "SPY",
    "timeframe": "1d",
    "period": _PERIOD,
    "models_compared": ["model1"],
    "results": [
        {
            "label": "model1",
            "strategy": "ml_predictive",
            "params": {"model_name": "model1"},
            "final_equity": 12010.0,
            **_RESULTS,
        },
        {"label": "benchmark", "strategy": "buy_and_hold", "params": {}, "final_equity": 10000.0, **_FLAT},
    ],
    "best": "model1",
    "status": "success",
}
WALK_FORWARD_RESULT: Json = {
    "model_name": "ensemble_spy",
    "model_type": "ensemble",
    "symbol": "SPY",
    "timeframe": "1d",
    "period": {"start": "2022-01-01", "end": "2024-01-01"},
    "train_window": 252,
    "test_window": 63,
    "mode": "rolling",
    "num_folds": 1,
    "folds": [
        {
            "fold": 0,
            "train_start": "2022-01-03T00:00:00+00:00",
            "train_end": "2023-01-03T00:00:00+00:00",
            "test_start": "2023-01-04T00:00:00+00:00",
            "test_end": "2023-04-04T00:00:00+00:00",
            "train_rows": 252,
            "test_rows": 63,
            "final_equity": 10000.0,
            "metrics": _FLAT,
        }
    ],
    "metrics": _FLAT,
    "final_equity": 10000.0,
    "equity_curve": _CURVE[:1],
    "equity_curve_points": 1,
    "equity_curve_total_points": 1,
    "equity_curve_downsampled": False,
    "trades": [],
    "trades_total": 0,
    "trades_truncated": False,
    "full_curve": None,
    "warnings": [],
    "benchmark": _BENCHMARK,
    "significance": {
        **_SIGNIFICANCE,
        "walk_forward_efficiency": 0.42,
        "in_sample_sharpe": 2.1,
        "out_of_sample_sharpe": 0.88,
    },
    "status": "success",
}
METRIC_CATALOG: Json = {
    "metrics": [
        {"name": "total_return", "description": "final equity / initial capital - 1"},
        {"name": "calmar_ratio", "description": "annual_return / |max_drawdown|"},
    ],
    "count": 2,
}
