"""The risk limits and DCA settings a user trades under: their stored trading configuration
(``PUT /api/config``), read in the caller's transaction, so a change applies to the next request."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pipelines.app.trading_config import load_config
from pipelines.trading.dca import DcaSettings
from pipelines.trading.risk import RiskLimits

__all__ = ["trading_limits"]


def trading_limits(session: Session, user_id: str) -> tuple[RiskLimits, DcaSettings]:
    """``user_id``'s risk limits and DCA settings (the configuration's defaults until one is stored)."""
    config = load_config(session, user_id)
    return config.risk_limits(), config.dca_settings()
