"""Answers of the status, metrics and ML routes under /api (the ``status``/``data``/``timestamp``
envelope, except /api/health, whose shape is a probe's)."""

from __future__ import annotations

from typing import Literal

from serving.responses import Num, Shape

__all__ = [
    "ConfigAnswer",
    "ConfigData",
    "ConfigUpdated",
    "ConfigUpdatedAnswer",
    "DatabaseStatus",
    "DcaConfig",
    "HealthServices",
    "IndicatorValues",
    "MlConfig",
    "MlPerformance",
    "MlPerformanceAnswer",
    "MlPrediction",
    "MlPredictions",
    "MlPredictionsAnswer",
    "ModelScore",
    "OverallPerformance",
    "ProbeHealth",
    "RedisStatus",
    "RetrainAnswer",
    "RetrainStarted",
    "RiskConfig",
    "StatusAnswer",
    "StatusServices",
    "SystemStatus",
    "TradingLimits",
    "TradingStatus",
]


class HealthServices(Shape):
    backend: str
    database: str
    redis: str  # "not_configured" without a Redis URL
    ml_engine: str
    market_data: str


class ProbeHealth(Shape):
    status: Literal["healthy", "degraded"]
    version: str
    timestamp: str
    services: HealthServices


class DatabaseStatus(Shape):
    status: str
    connections: int | None
    max_connections: int | None


class RedisStatus(Shape):
    status: str
    memory_usage: str | None
    keys: int | None


class TradingStatus(Shape):
    status: Literal["active", "idle"]
    active_trades: int
    total_volume: str


class StatusServices(Shape):
    database: DatabaseStatus
    redis: RedisStatus
    trading: TradingStatus


class SystemStatus(Shape):
    uptime: str
    uptime_seconds: float
    version: str
    environment: str
    services: StatusServices


class StatusAnswer(Shape):
    status: Literal["success"]
    data: SystemStatus
    timestamp: str


class IndicatorValues(Shape):
    rsi: Num
    macd: Num
    bollinger_position: Num  # 0 on the lower Bollinger band, 1 on the upper one


class MlPrediction(Shape):
    id: str
    symbol: str | None
    model_type: str  # the registered model's name
    model_version: str | None
    timeframe: str | None
    prediction: Num  # the signal, -1 (sell) to 1 (buy)
    confidence: Num
    predicted_return: Num
    direction: str | None
    recommendation: str | None
    current_price: Num
    features: IndicatorValues
    timestamp: str


class MlPredictions(Shape):
    predictions: list[MlPrediction]
    count: int


class MlPredictionsAnswer(Shape):
    status: Literal["success"]
    data: MlPredictions
    timestamp: str


class ModelScore(Shape):
    name: str
    type: str
    symbol: str
    timeframe: str
    version: str
    accuracy: Num
    precision: Num
    recall: Num
    f1_score: Num
    last_trained: str
    training_samples: int | None
    training_seconds: Num
    status: str


class OverallPerformance(Shape):
    average_accuracy: Num
    total_predictions: int
    successful_predictions: int
    models_evaluated: int


class MlPerformance(Shape):
    models: list[ModelScore]
    overall_performance: OverallPerformance


class MlPerformanceAnswer(Shape):
    status: Literal["success"]
    data: MlPerformance
    timestamp: str


class RetrainStarted(Shape):
    model_type: str
    training_started: str
    estimated_duration: str | None
    status: Literal["queued", "training"]
    job_id: str
    job_url: str


class RetrainAnswer(Shape):
    status: Literal["success"]
    data: RetrainStarted
    timestamp: str


class TradingLimits(Shape):
    enabled: bool
    max_position_size: str  # decimal strings: amounts in the quote currency
    daily_loss_limit: str
    max_drawdown: str  # a fraction, "0.10"
    kill_switch: bool
    allow_short: bool


class DcaConfig(Shape):
    enabled: bool
    max_attempts: int
    base_volume: str
    volume_scaling: float
    step: str  # the fraction below the average entry that places the next safety order


class MlConfig(Shape):
    enabled: bool
    confidence_threshold: float
    update_frequency: str


class RiskConfig(Shape):
    safu_enabled: bool
    stop_loss: str
    take_profit: str


class ConfigData(Shape):
    trading: TradingLimits
    dca: DcaConfig
    ml: MlConfig
    risk: RiskConfig


class ConfigAnswer(Shape):
    status: Literal["success"]
    data: ConfigData
    timestamp: str


class ConfigUpdated(Shape):
    message: str
    updated_fields: list[str]


class ConfigUpdatedAnswer(Shape):
    status: Literal["success"]
    data: ConfigUpdated
    timestamp: str
