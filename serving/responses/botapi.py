"""Answers of the market-data, model-catalogue and forecast routes under ``/api/market``,
``/api/models`` and ``/api/predictions`` (plain bodies; their candles are
:class:`serving.responses.trading.Bar`)."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from serving.responses import Num, Shape

__all__ = [
    "CatalogueModel",
    "Forecast",
    "ForecastRow",
    "ModelPerformance",
    "PredictionAccepted",
    "PredictionRecord",
    "PredictionResult",
    "SymbolList",
    "TrainingQueued",
]


class SymbolList(Shape):
    symbols: list[str]
    asset_type: str


class ModelPerformance(Shape):
    train_r2: Num
    val_r2: Num
    train_mae: Num
    val_mae: Num
    train_rmse: Num
    val_rmse: Num


class CatalogueModel(Shape):
    name: str
    type: str
    symbol: str
    timeframe: str
    n_steps_ahead: int
    model_size_kb: Num
    trained_at: str
    performance: ModelPerformance


class TrainingQueued(Shape):
    status: str
    task_id: str
    queue_position: int | None
    reason: str | None
    message: str


class ForecastRow(Shape):
    step: int
    minutes_ahead: int
    predicted_open: Num
    predicted_high: Num
    predicted_low: Num
    predicted_close: Num
    predicted_return: Num
    confidence: Num
    timestamp: str


class Forecast(Shape):
    timestamp: str
    current_price: Num
    predictions: list[ForecastRow]
    smoothness_score: Num
    model_trained: bool
    model_name: str
    model_age_days: Num


class PredictionAccepted(Shape):
    status: str
    prediction_id: str
    message: str
    task_id: str | UnsetType = UNSET
    queue_position: int | UnsetType | None = UNSET
    reason: str | UnsetType | None = UNSET


class PredictionRecord(Shape):
    id: str
    symbol: str
    timeframe: str
    status: str
    created_at: str


class PredictionResult(Shape):
    """A stored prediction: the forecast's fields once it has completed, else ``message`` (and the
    ``error`` of a failed one)."""

    prediction_id: str
    status: str
    symbol: str
    timeframe: str
    created_at: str
    timestamp: str | UnsetType = UNSET
    current_price: Num | UnsetType = UNSET
    predictions: list[ForecastRow] | UnsetType = UNSET
    smoothness_score: Num | UnsetType = UNSET
    model_trained: bool | UnsetType = UNSET
    model_name: str | UnsetType = UNSET
    model_age_days: Num | UnsetType = UNSET
    message: str | UnsetType = UNSET
    error: str | UnsetType | None = UNSET
