"""Answers of the trading-bot backtest routes under ``/api/backtests`` (plain bodies)."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from serving.responses import Num, Shape
from serving.responses.honest import Benchmark, Significance

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
    """A backtest: ``performance`` and ``trading`` once it succeeded, ``error`` once it failed.
    Beside them, a succeeded run's ``benchmark`` (buy and hold of the symbol over the same bars and
    costs, and the verdict) and ``significance`` (how far its Sharpe ratio can be trusted), as
    ``/api/v1/backtest/run`` gives them."""

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
    benchmark: Benchmark | UnsetType = UNSET
    significance: Significance | UnsetType = UNSET


class BacktestStarted(Shape):
    """A run request's answer: ``queued`` (its position, and why it waits) or ``running``."""

    status: str
    backtest_id: str
    task_id: str
    message: str
    queue_position: int | UnsetType = UNSET
    reason: str | UnsetType | None = UNSET
