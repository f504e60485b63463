"""The numbers behind the ``/api/v1/monitoring`` endpoints, computed from the log tables.

Every function takes ``user_id``: None (an admin asking) counts everyone's rows, a user id only
that user's. ``now`` is injectable for tests; it defaults to the current UTC time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from pipelines.db.models import ErrorLog, PredictionLog, RequestLog
from pipelines.db.types import isoformat_utc, utc_now
from serving.monitoring._sql import epoch_hour

__all__ = [
    "dashboard",
    "errors_by_code",
    "format_duration",
    "model",
    "model_summaries",
    "predictions_per_hour",
    "requests_by_route",
    "requests_by_status",
    "requests_per_minute",
    "system",
]

_Table = type[PredictionLog] | type[RequestLog] | type[ErrorLog]
_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _scoped(query: _Query, table: _Table, user_id: str | None) -> _Query:
    return query if user_id is None else query.where(table.user_id == user_id)


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def format_duration(seconds: float) -> str:
    """``3d 4h 5m 6s``, leading zero units left out."""
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return " ".join([*(f"{n}{unit}" for n, unit in parts), f"{secs}s"])


def system(
    session: Session, user_id: str | None, started_at: dt.datetime | None, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Totals, recent activity and the mean response time (seconds); uptime since ``started_at``."""
    moment = now or utc_now()
    total_predictions = session.scalar(_scoped(select(func.count(PredictionLog.id)), PredictionLog, user_id))
    calls = session.execute(
        _scoped(
            select(
                func.count(RequestLog.id),
                _count_where(RequestLog.created_at >= moment - dt.timedelta(hours=1)),
                func.avg(RequestLog.duration_ms),
            ),
            RequestLog,
            user_id,
        )
    ).one()
    errors = session.execute(
        _scoped(
            select(
                func.count(ErrorLog.id), _count_where(ErrorLog.created_at >= moment - dt.timedelta(hours=24))
            ),
            ErrorLog,
            user_id,
        )
    ).one()
    uptime = None if started_at is None else max(0.0, (moment - started_at).total_seconds())
    return {
        "total_predictions": int(total_predictions or 0),
        "total_api_calls": int(calls[0]),
        "total_errors": int(errors[0]),
        "recent_api_calls_1h": int(calls[1]),
        "recent_errors_24h": int(errors[1]),
        "avg_response_time": None if calls[2] is None else round(float(calls[2]) / 1000.0, 6),
        "uptime": "N/A" if uptime is None else format_duration(uptime),
        "uptime_seconds": None if uptime is None else round(uptime, 3),
    }


def _model_columns() -> tuple[ColumnElement[Any], ...]:
    rec = PredictionLog.recommendation
    return (
        func.count(PredictionLog.id),
        func.avg(PredictionLog.confidence),
        func.avg(PredictionLog.signal),
        _count_where(rec == "BUY"),
        _count_where(rec == "SELL"),
        _count_where(rec == "HOLD"),
        func.max(PredictionLog.created_at),
    )


def _model_dict(name: str, row: Any) -> dict[str, Any]:
    count, confidence, signal, buy, sell, hold, last = row
    return {
        "model_name": name,
        "total_predictions": int(count),
        "avg_confidence": None if confidence is None else float(confidence),
        "avg_signal": None if signal is None else float(signal),
        "buy_signals": int(buy),
        "sell_signals": int(sell),
        "hold_signals": int(hold),
        "last_prediction_at": None if last is None else isoformat_utc(_as_utc(last)),
    }


def _as_utc(value: dt.datetime | str) -> dt.datetime:
    # max() over a TypeDecorator column comes back through it on PostgreSQL but as text on SQLite.
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def model(session: Session, model_name: str, user_id: str | None) -> dict[str, Any]:
    """Prediction counts and means of one model (zeros and None when it has served none)."""
    query = select(*_model_columns()).where(PredictionLog.model_name == model_name)
    return _model_dict(model_name, session.execute(_scoped(query, PredictionLog, user_id)).one())


def model_summaries(session: Session, user_id: str | None) -> list[dict[str, Any]]:
    """``model()`` for every model that has served predictions, by name."""
    query = select(PredictionLog.model_name, *_model_columns()).group_by(PredictionLog.model_name)
    rows = session.execute(_scoped(query, PredictionLog, user_id).order_by(PredictionLog.model_name))
    return [_model_dict(row[0], row[1:]) for row in rows]


def requests_by_route(session: Session, user_id: str | None) -> list[dict[str, Any]]:
    """Calls, mean duration (ms) and error responses per method and route template, busiest first."""
    count = func.count(RequestLog.id)
    query = (
        select(
            RequestLog.method,
            RequestLog.route,
            count,
            func.avg(RequestLog.duration_ms),
            _count_where(RequestLog.status_code >= 400),
        )
        .group_by(RequestLog.method, RequestLog.route)
        .order_by(count.desc(), RequestLog.route, RequestLog.method)
    )
    return [
        {"method": m, "route": r, "count": int(n), "avg_duration_ms": round(float(avg), 3), "errors": int(e)}
        for m, r, n, avg, e in session.execute(_scoped(query, RequestLog, user_id))
    ]


def requests_by_status(session: Session, user_id: str | None) -> dict[str, int]:
    query = select(RequestLog.status_code, func.count(RequestLog.id)).group_by(RequestLog.status_code)
    rows = session.execute(_scoped(query, RequestLog, user_id).order_by(RequestLog.status_code))
    return {str(code): int(n) for code, n in rows}


def errors_by_code(session: Session, user_id: str | None) -> dict[str, int]:
    query = select(ErrorLog.code, func.count(ErrorLog.id)).group_by(ErrorLog.code)
    return {
        code: int(n) for code, n in session.execute(_scoped(query, ErrorLog, user_id).order_by(ErrorLog.code))
    }


def predictions_per_hour(
    session: Session, user_id: str | None, *, now: dt.datetime | None = None, hours: int = 24
) -> list[dict[str, Any]]:
    """Predictions in each of the last ``hours`` clock hours (UTC), oldest first, empty hours as 0."""
    moment = now or utc_now()
    current = moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    first = current - dt.timedelta(hours=hours - 1)
    bucket = epoch_hour(PredictionLog.created_at)
    query = (
        select(bucket, func.count(PredictionLog.id))
        .where(PredictionLog.created_at >= first, PredictionLog.created_at <= moment)
        .group_by(bucket)
    )
    counts = {int(h): int(n) for h, n in session.execute(_scoped(query, PredictionLog, user_id))}
    first_hour = int(first.timestamp()) // 3600
    return [
        {"hour": isoformat_utc(first + dt.timedelta(hours=i)), "count": counts.get(first_hour + i, 0)}
        for i in range(hours)
    ]


def requests_per_minute(session: Session, *, now: dt.datetime | None = None) -> int:
    """API calls (everyone's) in the last 60 seconds, for ``/api/v1/health``."""
    moment = now or utc_now()
    query = select(func.count(RequestLog.id)).where(RequestLog.created_at > moment - dt.timedelta(minutes=1))
    return int(session.scalar(query) or 0)


def dashboard(
    session: Session, user_id: str | None, started_at: dt.datetime | None, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything at once: system numbers, per-model summaries, traffic and errors, hourly predictions."""
    moment = now or utc_now()
    return {
        "generated_at": isoformat_utc(moment),
        "scope": "all" if user_id is None else "user",
        "user_id": user_id,
        "system": system(session, user_id, started_at, now=moment),
        "models": model_summaries(session, user_id),
        "requests": {
            "by_route": requests_by_route(session, user_id),
            "by_status": requests_by_status(session, user_id),
        },
        "errors": {"by_code": errors_by_code(session, user_id)},
        "predictions_per_hour": predictions_per_hour(session, user_id, now=moment),
    }
