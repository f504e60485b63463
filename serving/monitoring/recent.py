"""The newest predictions and errors as JSON-safe dicts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy.orm import Session

from pipelines.db.logs import recent
from pipelines.db.models import ErrorLog, LogRow, PredictionLog
from pipelines.db.types import isoformat_utc

__all__ = ["log_row_dict", "recent_errors", "recent_predictions"]


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return isoformat_utc(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def log_row_dict(row: LogRow) -> dict[str, Any]:
    """Every column of a log row, times as ISO UTC strings and non-finite floats as None."""
    return {attr.key: _json_value(getattr(row, attr.key)) for attr in row.__mapper__.column_attrs}


# Recorded for lineage (which data a prediction's features came from), not part of the documented
# answer of /api/v1/monitoring/predictions/recent.
_PREDICTION_ONLY_LOGGED = frozenset({"data_version", "features"})


def recent_predictions(
    session: Session, limit: int = 100, user_id: str | None = None
) -> list[dict[str, Any]]:
    """The newest ``limit`` predictions (a user's own, or everyone's when ``user_id`` is None)."""
    return [
        {k: v for k, v in log_row_dict(row).items() if k not in _PREDICTION_ONLY_LOGGED}
        for row in recent(session, PredictionLog, limit, user_id)
    ]


def recent_errors(session: Session, limit: int = 50, user_id: str | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` error responses (a user's own, or everyone's when ``user_id`` is None)."""
    return [log_row_dict(row) for row in recent(session, ErrorLog, limit, user_id)]
