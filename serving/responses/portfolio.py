"""Answers of /portfolio and /portfolio/history (plain shapes, numbers as floats) and of
/api/analytics/performance and /api/analytics/risk (the ``status``/``data``/``timestamp`` envelope)."""

from __future__ import annotations

from typing import Literal

import msgspec

from serving.responses import Num, Shape

__all__ = [
    "DailyReturn",
    "HistoryPoint",
    "PerformanceAnswer",
    "PerformanceData",
    "PerformanceMetrics",
    "PortfolioAnswer",
    "PortfolioPosition",
    "RiskAnswer",
    "RiskData",
    "VenueBalance",
]


class PortfolioPosition(Shape):
    symbol: str
    side: Literal["long", "short"]
    quantity: float
    entry_price: float
    current_price: float
    pnl: float
    pnl_pct: Num
    opened_at: str | None


class VenueBalance(Shape):
    venue: str
    environment: Literal["testnet", "live"]
    asset: str
    free: float | None
    total: float
    synced_at: str


class PortfolioAnswer(Shape):
    total_value: float
    cash: float
    reserved_cash: float
    free_cash: float
    positions: list[PortfolioPosition]
    daily_pnl: float
    daily_pnl_pct: Num
    total_pnl: float
    total_pnl_pct: Num
    exchange_balances: list[VenueBalance]


class HistoryPoint(Shape):
    date: str
    value: float


class PerformanceMetrics(Shape):
    total_return: Num
    total_return_percent: str | None
    sharpe_ratio: Num
    max_drawdown: Num
    max_drawdown_percent: str | None
    win_rate: Num
    average_win: Num
    average_loss: Num
    profit_factor: Num
    total_trades: int
    winning_trades: int
    losing_trades: int


class DailyReturn(Shape):
    date: str
    return_: float = msgspec.field(name="return")  # a Python keyword: named "return" on the wire
    return_percent: str | None


class PerformanceData(Shape):
    period: str
    symbol: str | None
    start_date: str | None
    end_date: str
    metrics: PerformanceMetrics
    daily_returns: list[DailyReturn]


class PerformanceAnswer(Shape):
    status: Literal["success"]
    data: PerformanceData
    timestamp: str


class RiskData(Shape):
    portfolio_risk: Literal["low", "medium", "high"] | None
    var_95: Num
    var_99: Num
    beta: Num
    correlation_matrix: dict[str, dict[str, Num]]
    concentration_risk: Num
    liquidity_risk: Literal["low", "medium", "high"] | None
    notes: list[str]


class RiskAnswer(Shape):
    status: Literal["success"]
    data: RiskData
    timestamp: str
