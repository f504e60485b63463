"""Trading errors, each with the API code it answers with (the front ends map the base classes to
their statuses: not found 404, invalid 400, refused 403, conflict 409)."""

from __future__ import annotations

from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError, PermissionDeniedError

__all__ = [
    "DcaDisabledError",
    "InsufficientBalanceError",
    "RiskRuleError",
    "TradeClosedError",
    "TradeNotFoundError",
    "TradingDisabledError",
]


class TradeNotFoundError(DataNotFoundError):
    """No such trade, or another user's."""

    code = "TRADE_NOT_FOUND"


class InsufficientBalanceError(InvalidRequestError):
    code = "INSUFFICIENT_BALANCE"


class TradingDisabledError(PermissionDeniedError):
    """Trading is off (disabled, or the kill switch is on); ``rule`` names the setting."""

    code = "TRADING_DISABLED"

    def __init__(self, message: str, rule: str = "enabled") -> None:
        super().__init__(message)
        self.rule = rule
        self.details = {"rule": rule}


class RiskRuleError(InvalidRequestError):
    """An order breaks a risk rule; ``rule`` names it."""

    code = "RISK_LIMIT_EXCEEDED"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.details = {"rule": rule}


class DcaDisabledError(InvalidRequestError):
    code = "DCA_DISABLED"


class TradeClosedError(ConflictError):
    """The trade is closed or cancelled already."""

    code = "TRADE_CLOSED"
