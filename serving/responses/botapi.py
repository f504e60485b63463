"""Answers of the market-data and model-catalogue routes under ``/api/market`` and ``/api/models``
(plain bodies; their candles are :class:`serving.responses.trading.Bar`)."""

from __future__ import annotations

from serving.responses import Num, Shape

__all__ = ["CatalogueModel", "ModelPerformance", "SymbolList"]


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
