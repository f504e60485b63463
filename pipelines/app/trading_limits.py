"""The risk limits and DCA settings a user trades under (one place: the stored per-user trading
configuration plugs in here)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pipelines.trading.dca import DcaSettings
from pipelines.trading.risk import RiskLimits

__all__ = ["trading_limits"]


def trading_limits(session: Session, user_id: str) -> tuple[RiskLimits, DcaSettings]:
    """``user_id``'s risk limits and DCA settings (the defaults until a stored configuration exists)."""
    del session, user_id
    return RiskLimits(), DcaSettings()
