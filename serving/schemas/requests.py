"""Request bodies annotated with example requests (both client styles) for the OpenAPI schema:
``data: PredictBody`` is ``data: dto.Predict`` at runtime, with the examples in the schema."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.openapi.spec import Example
from litestar.params import Body

from serving import dto
from serving.schemas.admin_examples import REFRESH_TOKEN

__all__ = [
    "API_KEY_CREATE", "BACKTEST_RUN", "BATCH_PREDICT", "COMPARE", "ENSEMBLE_PREDICT", "LOGIN",
    "OPTIMIZE", "PREDICT", "REFRESH", "REGISTER", "SIGNAL_PREDICT", "SWEEP", "TRAIN", "WALK_FORWARD",
    "ApiKeyCreateBody", "BacktestRunBody", "BatchPredictBody", "CompareBody", "EnsemblePredictBody",
    "LoginBody", "OptimizeBody", "PredictBody", "RefreshBody", "RegisterBody", "SignalPredictBody",
    "SweepBody", "TrainBody", "WalkForwardBody",
]  # fmt: skip

Json = dict[str, Any]

REGISTER: Json = {
    "username": "alice",
    "password": "correct-horse-battery",
    "email": "alice@example.com",
    "full_name": "Alice Doe",
}
LOGIN: Json = {"username": "alice", "password": "correct-horse-battery"}
REFRESH: Json = {"refresh_token": REFRESH_TOKEN}
API_KEY_CREATE: Json = {"name": "trading-bot"}
TRAIN: list[tuple[str, Json]] = [
    (
        "a model name, symbol and dates",
        {
            "model_type": "ensemble",
            "model_name": "ensemble_spy",
            "symbol": "SPY",
            "start_date": "2022-01-01",
            "end_date": "2024-01-01",
        },
    ),
    (
        "a model kind, dataset and parameters",
        {
            "model_type": "xgboost",
            "dataset": "AAPL",
            "parameters": {"n_estimators": 1000, "max_depth": 10, "learning_rate": 0.01},
            "validation_split": 0.2,
            "gpu_enabled": True,
        },
    ),
]
PREDICT: Json = {
    "symbol": "AAPL",
    "model": "random_forest",
    "timeframe": "1d",
    "features": {"volume": True, "technical_indicators": ["RSI", "MACD", "BB"]},
}
BATCH_PREDICT: list[tuple[str, Json]] = [
    ("a model name", {"model_name": "ensemble_spy", "symbols": ["SPY", "QQQ", "IWM"], "days_lookback": 60}),
    ("a model kind", {"symbols": ["AAPL", "GOOGL", "MSFT"], "model": "ensemble", "async": False}),
]
SIGNAL_PREDICT: Json = {"model_name": "ensemble_spy", "symbol": "SPY", "days_lookback": 60}
ENSEMBLE_PREDICT: Json = {
    "model_names": ["model1", "model2", "model3"],
    "symbol": "SPY",
    "weights": [0.5, 0.3, 0.2],
}
_SPAN = {"symbol": "SPY", "start_date": "2023-01-01", "end_date": "2024-01-01"}
BACKTEST_RUN: list[tuple[str, Json]] = [
    (
        "a model",
        {
            "model_name": "ensemble_spy",
            **_SPAN,
            "initial_capital": 100000,
            "commission": 0.001,
            "position_size": 1.0,
        },
    ),
    ("a strategy", {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, **_SPAN}),
    (
        "the bars of an uploaded ohlcv dataset",
        {
            "symbol": "AAPL",
            "dataset_id": "3f2b8c1e-7d4a-4e9b-a0c5-6e1f2d3c4b5a",
            "strategy": "sma_cross",
            "params": {"fast": 10, "slow": 30},
        },
    ),
]
COMPARE: Json = {"model_names": ["model1", "model2", "model3"], **_SPAN}
WALK_FORWARD: Json = {
    "model_name": "ensemble_spy",
    "symbol": "SPY",
    "start_date": "2022-01-01",
    "end_date": "2024-01-01",
    "train_window": 252,
    "test_window": 63,
}

OPTIMIZE: list[tuple[str, Json]] = [
    (
        "two moving averages, the fast one shorter",
        {
            "strategy": "sma_cross",
            "symbol": "AAPL",
            "grid": {"fast": "5:100", "slow": "10:300:5"},
            "constraints": ["fast < slow"],
            "objective": "sharpe",
            "trials": 50,
            "holdout": 0.2,
            "study_name": "aapl-sma",
            "start_date": "2018-01-01",
            "end_date": "2024-01-01",
        },
    ),
    (
        "a long study as a job",
        {
            "strategy": "rsi_reversion",
            "symbol": "BTC/USDT",
            "timeframe": "1h",
            "grid": {"period": "5:30", "oversold": "15:40", "overbought": "60:85"},
            "trials": 500,
            "start_date": "2024-01-01",
            "end_date": "2024-07-01",
            "async": True,
        },
    ),
]

SWEEP: list[tuple[str, Json]] = [
    (
        "two parameters, a constraint",
        {
            "strategy": "sma_cross",
            "grid": {"fast": "5:50:5", "slow": [20, 50, 100, 200]},
            "constraints": ["fast < slow"],
            "objective": "sharpe_ratio",
            "top": 10,
            **_SPAN,
        },
    ),
    (
        "a seeded sample, as a job",
        {
            "strategy": "rsi_reversion",
            "grid": {"period": "5:30:1", "oversold": "20:40:5", "overbought": "60:80:5"},
            "sample": 200,
            "seed": 7,
            "heatmap": ["oversold", "overbought"],
            "symbol": "BTC/USDT",
            "start_date": "2023-01-01",
            "end_date": "2024-01-01",
            "async": True,
        },
    ),
]


def _body(*examples: tuple[str, dict[str, Any]]) -> Any:
    return Body(examples=[Example(summary=summary, value=value) for summary, value in examples])


RegisterBody = Annotated[dto.Register, _body(("an account", REGISTER))]
LoginBody = Annotated[dto.Login, _body(("username and password", LOGIN))]
RefreshBody = Annotated[dto.Refresh, _body(("a refresh token", REFRESH))]
ApiKeyCreateBody = Annotated[dto.ApiKeyCreate, _body(("a named key", API_KEY_CREATE))]
TrainBody = Annotated[dto.Train, _body(*TRAIN)]
PredictBody = Annotated[dto.Predict, _body(("a model kind and indicators", PREDICT))]
BatchPredictBody = Annotated[dto.BatchPredict, _body(*BATCH_PREDICT)]
SignalPredictBody = Annotated[dto.SignalPredict, _body(("a model name", SIGNAL_PREDICT))]
EnsemblePredictBody = Annotated[dto.EnsemblePredict, _body(("three weighted models", ENSEMBLE_PREDICT))]
BacktestRunBody = Annotated[dto.BacktestRun, _body(*BACKTEST_RUN)]
CompareBody = Annotated[dto.Compare, _body(("three models", COMPARE))]
OptimizeBody = Annotated[dto.Optimize, _body(*OPTIMIZE)]
WalkForwardBody = Annotated[dto.WalkForward, _body(("a year to train, a quarter to test", WALK_FORWARD))]
SweepBody = Annotated[dto.Sweep, _body(*SWEEP)]
