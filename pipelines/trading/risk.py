"""Risk controls, checked before an order is written: an order that breaks a rule is refused with
the rule's name and nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipelines.trading.errors import RiskRuleError, TradingDisabledError
from pipelines.trading.records import ZERO

__all__ = ["Exposure", "RiskLimits", "check_order", "default_levels"]


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """What the risk controls enforce before an order is placed (a user's stored configuration gives
    them: ``TradingConfig.risk_limits()``), and the protective levels a new trade gets by default."""

    enabled: bool = True  # trading on at all
    kill_switch: bool = False  # on: every new order is refused
    allow_short: bool = False
    max_position_size: Decimal = Decimal(1000)  # notional of one symbol's open trades, quote currency
    daily_loss_limit: Decimal = Decimal(100)  # realized loss today (UTC) after which orders stop
    # Fraction of the equity's peak (cash plus open positions marked to their last price) that may
    # be lost before orders stop.
    max_drawdown: Decimal = Decimal("0.10")
    # Stop-loss / take-profit distances (fractions of the entry price) a new trade gets when it
    # names none; None: no default level (the safety exits are off).
    default_stop_loss: Decimal | None = None
    default_take_profit: Decimal | None = None


def default_levels(
    limits: RiskLimits, *, long: bool, price: Decimal
) -> tuple[Decimal | None, Decimal | None]:
    """(stop-loss, take-profit) prices at the default distances from ``price``: a long's stop below
    and target above, a short's the other way; None where no default distance is set."""
    sign = 1 if long else -1
    stop = None if limits.default_stop_loss is None else price * (1 - sign * limits.default_stop_loss)
    target = None if limits.default_take_profit is None else price * (1 + sign * limits.default_take_profit)
    return stop, target


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the rules read: the symbol's open notional, today's realized pnl, the equity (cash plus
    the active positions marked to their last price) and its peak (never below the equity)."""

    position_notional: Decimal
    realized_today: Decimal
    equity: Decimal
    peak: Decimal


def check_order(limits: RiskLimits, exposure: Exposure, *, notional: Decimal, opens_short: bool) -> None:
    """Raise naming the first rule an order of ``notional`` (quote currency) would break."""
    if not limits.enabled:
        raise TradingDisabledError("trading is disabled (trading.enabled is off)", "enabled")
    if limits.kill_switch:
        raise TradingDisabledError("the kill switch is on: no new orders", "kill_switch")
    if opens_short and not limits.allow_short:
        raise RiskRuleError("allow_short", "short trades are not allowed (allow_short is off)")
    after = exposure.position_notional + notional
    if after > limits.max_position_size:
        raise RiskRuleError(
            "max_position_size",
            f"the position would be {after:.2f} in notional, over max_position_size "
            f"{limits.max_position_size}",
        )
    if exposure.realized_today < ZERO and -exposure.realized_today >= limits.daily_loss_limit:
        raise RiskRuleError(
            "daily_loss_limit",
            f"today's realized loss {-exposure.realized_today:.2f} reached daily_loss_limit "
            f"{limits.daily_loss_limit}",
        )
    if exposure.peak > 0 and (exposure.peak - exposure.equity) / exposure.peak >= limits.max_drawdown:
        raise RiskRuleError(
            "max_drawdown",
            f"the equity is {(exposure.peak - exposure.equity) / exposure.peak:.2%} below its peak, "
            f"at or over max_drawdown {limits.max_drawdown}",
        )
