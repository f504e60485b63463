"""Answers of the trade and DCA routes under /api (the ``status``/``data``/``timestamp`` envelope).
Amounts, prices and pnl are decimal strings."""

from __future__ import annotations

from typing import Literal

from serving.responses import Shape

__all__ = [
    "DcaAttemptView",
    "DcaExecuted",
    "DcaExecutedAnswer",
    "DcaHistory",
    "DcaHistoryAnswer",
    "DcaStatus",
    "DcaStatusAnswer",
    "TradeAnswer",
    "TradeDetail",
    "TradeDetailAnswer",
    "TradeList",
    "TradeListAnswer",
    "TradeView",
]

Dec = str | None  # a decimal as text; null where not known yet


class TradeView(Shape):
    id: str
    user_id: str
    symbol: str
    side: Literal["buy", "sell"]  # the entry's side
    position_side: Literal["long", "short"]
    broker: str
    amount: str
    price: Dec  # the average entry fill (null while pending)
    entry_price: Dec
    current_price: Dec  # the newest stored close
    exit_price: Dec
    stop_loss: Dec
    take_profit: Dec
    pnl: str  # marked to current_price while active, realized once closed; net of commission
    pnl_percent: Dec  # pnl over the entry notional, in percent
    commission: str
    status: Literal["pending", "active", "closed", "cancelled"]
    dca_enabled: bool
    max_dca_attempts: int
    strategy_id: str | None
    close_reason: str | None
    created_at: str
    updated_at: str
    closed_at: str | None


class TradeAnswer(Shape):
    status: Literal["success"]
    data: TradeView
    timestamp: str


class TradeList(Shape):
    trades: list[TradeView]
    count: int  # trades in this page
    total: int  # trades matching the filters
    total_pnl: str  # over this page
    total_volume: str  # entry notional over this page


class TradeListAnswer(Shape):
    status: Literal["success"]
    data: TradeList
    timestamp: str


class DcaAttemptView(Shape):
    id: str
    trade_id: str
    attempt: int
    price: Dec
    volume: str  # units
    amount: str  # the same units
    success: bool
    reason: str | None  # why it failed
    timestamp: str


class TradeDetail(TradeView):
    dca_attempts: int
    dca_success_rate: str | None
    risk_level: Literal["low", "medium", "high"]
    ml_confidence: float | None  # null unless a model decided the trade
    dca_history: list[DcaAttemptView]


class TradeDetailAnswer(Shape):
    status: Literal["success"]
    data: TradeDetail
    timestamp: str


class DcaStatus(Shape):
    enabled: bool
    active_trades: int
    total_attempts: int
    successful_attempts: int
    success_rate: str
    total_volume: str  # quote currency of the successful attempts
    average_recovery_time: str | None


class DcaStatusAnswer(Shape):
    status: Literal["success"]
    data: DcaStatus
    timestamp: str


class DcaExecuted(Shape):
    trade_id: str
    dca_attempt: int
    volume: str
    price: Dec  # the newest stored close; the order fills at the next bar's open
    timestamp: str
    success: bool
    status: Literal["open", "failed"]
    reason: str | None
    order_id: str | None = None  # the DCA order placed (absent when the attempt failed)


class DcaExecutedAnswer(Shape):
    status: Literal["success"]
    data: DcaExecuted
    timestamp: str


class DcaHistory(Shape):
    dca_attempts: list[DcaAttemptView]
    count: int
    success_rate: str | None


class DcaHistoryAnswer(Shape):
    status: Literal["success"]
    data: DcaHistory
    timestamp: str
