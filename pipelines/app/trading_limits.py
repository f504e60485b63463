"""The risk limits and DCA settings a user trades under: their stored trading configuration
(``PUT /api/config``), read in the caller's transaction, so a change applies to the next request.

Every order reads them, so the parsed settings are kept per (user, configuration version): a request
reads only the version number (one indexed lookup) and parses the configuration again only after it
changed. Every update bumps the version, on whichever worker it happened."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pipelines.app.trading_config import load_config
from pipelines.db.trading_config import TradingConfigRow
from pipelines.trading.dca import DcaSettings
from pipelines.trading.risk import RiskLimits

__all__ = ["trading_limits"]

_MAX_CACHED = 10_000
_parsed: dict[tuple[str, int], tuple[RiskLimits, DcaSettings]] = {}
_VERSION = select(TradingConfigRow.version).where(TradingConfigRow.user_id == bindparam("user"))


def trading_limits(session: Session, user_id: str) -> tuple[RiskLimits, DcaSettings]:
    """``user_id``'s risk limits and DCA settings (the configuration's defaults until one is stored)."""
    version = session.connection().execute(_VERSION, {"user": user_id}).scalar()
    key = (user_id, 0 if version is None else version)
    hit = _parsed.get(key)
    if hit is not None:
        return hit
    config = load_config(session, user_id)
    limits = config.risk_limits(), config.dca_settings()
    if len(_parsed) >= _MAX_CACHED:
        _parsed.clear()
    _parsed[key] = limits
    return limits
