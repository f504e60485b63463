"""Answers of the trading-bot backtest routes under ``/api/backtests`` (plain bodies)."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from serving.responses import Num, Shape

__all__ = ["BacktestPerformance", "BacktestStarted", "BacktestTrading", "BotBacktest"]


class BacktestPerformance(Shape):
    total_return: Num
    sharpe_ratio: Num
    max_drawdown: Num
    win_rate: Num
    sortino_ratio: Num
    calmar_ratio: Num


class BacktestTrading(Shape):
    total_trades: int
    winning_trades: int
    losing_trades: int
    avg_win: Num
    avg_loss: Num
    avg_trade_duration: Num
    profit_factor: Num


class BotBacktest(Shape):
    """A backtest: ``performance`` and ``trading`` once it succeeded, ``error`` once it failed."""

    id: str
    status: str
    strategy: str
    symbol: str
    timeframe: str
    start_date: str | None
    end_date: str | None
    initial_capital: Num
    created_at: str
    performance: BacktestPerformance | UnsetType = UNSET
    trading: BacktestTrading | UnsetType = UNSET
    error: str | UnsetType = UNSET


class BacktestStarted(Shape):
    """A run request's answer: ``queued`` (its position, and why it waits) or ``running``."""

    status: str
    backtest_id: str
    task_id: str
    message: str
    queue_position: int | UnsetType = UNSET
    reason: str | UnsetType | None = UNSET
