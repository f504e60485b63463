"""Answers of the analytics routes under /api/analytics (the ``status``/``data``/``timestamp``
envelope)."""

from __future__ import annotations

from typing import Literal

from serving.responses import Num, Shape

__all__ = ["MarketAnswer", "MarketCandle", "MarketData", "MarketIndicators"]


class MarketCandle(Shape):
    timestamp: str
    open: str  # decimal strings
    high: str
    low: str
    close: str
    volume: str


class MarketIndicators(Shape):
    rsi: Num
    macd: Num
    bollinger_upper: str | None
    bollinger_lower: str | None
    bollinger_middle: str | None


class MarketData(Shape):
    symbol: str
    timeframe: str
    candles: list[MarketCandle]
    indicators: MarketIndicators


class MarketAnswer(Shape):
    status: Literal["success"]
    data: MarketData
    timestamp: str
