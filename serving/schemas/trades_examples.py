"""Examples for the OpenAPI schema of the trade and DCA routes under /api, and their request bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from litestar.openapi.spec import Example
from litestar.params import Body

from serving.dto import StrictBool
from serving.schemas.admin_examples import NOW, Json

__all__ = [
    "ACTIVE_TRADES",
    "CLOSED_TRADE",
    "DCA_EXECUTED",
    "DCA_HISTORY",
    "DCA_STATUS",
    "NEW_TRADE",
    "TRADE_DETAIL",
    "TRADE_HISTORY",
    "CloseBody",
    "CloseTrade",
    "DcaBody",
    "DcaExecute",
    "NewTrade",
    "NewTradeBody",
]

_MAX_DECIMAL = Decimal("1e15")
_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
_Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


def _positive(name: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive number")
    if value > _MAX_DECIMAL or value.as_tuple().exponent < -18:  # type: ignore[operator]
        raise ValueError(f"{name} must be at most 1e15 with at most 18 decimal places")


def _envelope(data: Json) -> Json:
    return {"status": "success", "data": data, "timestamp": NOW}


class NewTrade(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A paper trade: ``price`` makes the entry a limit order (else a market order filled at the open
    of the next stored bar); ``client_order_id`` (or the Idempotency-Key header) makes a retry safe."""

    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    side: Literal["buy", "sell"]
    amount: Decimal
    price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    dca_enabled: StrictBool = False
    max_dca_attempts: Annotated[int, msgspec.Meta(ge=0, le=50)] | None = None
    client_order_id: _Text | None = None
    broker: Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[a-z0-9_.-]+$")] = "paper"
    environment: Literal["testnet", "live"] | None = None

    def __post_init__(self) -> None:
        for name in ("amount", "price", "stop_loss", "take_profit"):
            _positive(name, getattr(self, name))


class CloseTrade(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: _Reason = "manual_close"
    force: StrictBool = False


class DcaExecute(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A further entry of ``volume`` units of the base currency (``0.0005`` BTC) on a trade with DCA
    on."""

    trade_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    volume: Decimal
    reason: _Reason = "manual_dca"

    def __post_init__(self) -> None:
        _positive("volume", self.volume)


NEW_TRADE_REQUEST: Json = {
    "symbol": "BTCUSDT",
    "side": "buy",
    "amount": "0.001",
    "price": "45000.00",
    "stop_loss": "43000.00",
    "take_profit": "47000.00",
    "dca_enabled": True,
    "max_dca_attempts": 3,
}
NewTradeBody = Annotated[NewTrade, Body(examples=[Example(summary="a limit buy", value=NEW_TRADE_REQUEST)])]
CloseBody = Annotated[
    CloseTrade,
    Body(examples=[Example(summary="close now", value={"reason": "manual_close", "force": False})]),
]
DcaBody = Annotated[
    DcaExecute,
    Body(
        examples=[
            Example(
                summary="add to a trade",
                value={
                    "trade_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "volume": "0.0005",
                    "reason": "manual_dca",
                },
            )
        ]
    ),
]

_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_TRADE: Json = {
    "id": _ID,
    "user_id": "3f2b8c1e-0d4a-4e8b-9a57-2c1d5e6f7a80",
    "symbol": "BTC/USDT",
    "side": "buy",
    "position_side": "long",
    "broker": "paper",
    "amount": "0.001",
    "price": "45000",
    "entry_price": "45000",
    "current_price": "45500",
    "exit_price": None,
    "stop_loss": "43000",
    "take_profit": "47000",
    "pnl": "0.455",
    "pnl_percent": "1.01",
    "commission": "0.045",
    "status": "active",
    "dca_enabled": True,
    "max_dca_attempts": 3,
    "strategy_id": None,
    "close_reason": None,
    "created_at": "2024-01-01T10:00:00Z",
    "updated_at": "2024-01-01T10:30:00Z",
    "closed_at": None,
}
_LIST: Json = {"trades": [_TRADE], "count": 1, "total": 1, "total_pnl": "0.455", "total_volume": "45"}
ACTIVE_TRADES = _envelope(_LIST)
_CLOSED = {
    **_TRADE,
    "status": "closed",
    "exit_price": "46000",
    "current_price": "46000",
    "pnl": "0.909",
    "pnl_percent": "2.02",
    "close_reason": "take_profit",
    "closed_at": "2024-01-01T11:00:00Z",
}
TRADE_HISTORY = _envelope({**_LIST, "trades": [_CLOSED], "total_pnl": "0.909"})
_ATTEMPT: Json = {
    "id": "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "trade_id": _ID,
    "attempt": 1,
    "price": "44800",
    "volume": "0.0005",
    "amount": "0.0005",
    "success": True,
    "reason": None,
    "timestamp": "2024-01-01T10:15:00Z",
}
TRADE_DETAIL = _envelope(
    {
        **_TRADE,
        "dca_attempts": 1,
        "dca_success_rate": "100%",
        "risk_level": "medium",
        "ml_confidence": None,
        "dca_history": [_ATTEMPT],
    }
)
NEW_TRADE = _envelope(
    {
        **_TRADE,
        "symbol": "BTCUSDT",
        "status": "pending",
        "price": "45000",
        "entry_price": None,
        "current_price": "45000",
        "pnl": "0",
        "pnl_percent": None,
        "commission": "0",
    }
)
CLOSED_TRADE = _envelope({**_CLOSED, "close_reason": "manual_close"})
DCA_STATUS = _envelope(
    {
        "enabled": True,
        "active_trades": 3,
        "total_attempts": 15,
        "successful_attempts": 12,
        "success_rate": "80%",
        "total_volume": "5000",
        "average_recovery_time": "2h 30m",
    }
)
DCA_EXECUTED = _envelope(
    {
        "trade_id": _ID,
        "dca_attempt": 2,
        "volume": "0.0005",
        "price": "44800",
        "timestamp": "2024-01-01T10:15:00Z",
        "success": True,
        "status": "open",
        "order_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "reason": "manual_dca",
    }
)
DCA_HISTORY = _envelope({"dca_attempts": [_ATTEMPT], "count": 1, "success_rate": "100%"})
