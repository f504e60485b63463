"""``ml_confidence`` of a trade: the confidence of the model that decided it, when a stored
``ml_predictive`` strategy opened it (its ``strategy_id``), else None."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.db.models import PredictionLog
from pipelines.db.strategy_models import LiveStrategy
from pipelines.trading.records import Trade

__all__ = ["ml_confidence"]


def _spellings(symbol: str) -> list[str]:
    """``BTC/USDT`` as a prediction may have logged it: BTC/USDT, BTCUSDT, BTC_USDT."""
    return sorted({symbol, symbol.replace("/", ""), symbol.replace("/", "_")})


def ml_confidence(session: Session, trade: Trade) -> float | None:
    """The confidence of the strategy's model's newest prediction of the trade's symbol logged at or
    before the trade was opened; None for a trade no ``ml_predictive`` strategy opened, or when that
    model logged no prediction of the symbol before it."""
    if trade.strategy_id is None:
        return None
    strategy = session.get(LiveStrategy, trade.strategy_id)
    if strategy is None or strategy.type != "ml_predictive" or strategy.user_id != trade.user_id:
        return None
    model = strategy.params.get("model_name")
    if not isinstance(model, str):
        return None
    query = (
        select(PredictionLog.confidence)
        .where(
            PredictionLog.model_name == model,
            PredictionLog.symbol.in_(_spellings(trade.symbol)),
            PredictionLog.created_at <= trade.created_at,
            PredictionLog.confidence.is_not(None),
        )
        .order_by(PredictionLog.created_at.desc())
        .limit(1)
    )
    return session.scalar(query)
