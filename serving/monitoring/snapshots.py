"""Saved dashboards (``POST /api/v1/monitoring/save``, ``GET /api/v1/monitoring/history``).

A snapshot is known to callers by its file name only; where the server keeps it is not theirs to see.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.atomic import atomic_target
from pipelines.db.models import MetricsSnapshot
from pipelines.db.types import isoformat_utc, utc_now
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings
from serving.monitoring.queries import dashboard

__all__ = ["history", "save_snapshot"]

MAX_HISTORY = 1000


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_snapshot(
    settings: Settings,
    session: Session,
    user_id: str | None,
    *,
    started_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Write the caller's dashboard to ``settings.metrics_dir`` as JSON and record it (flushes)."""
    moment = now or utc_now()
    payload = dashboard(session, user_id, started_at, now=moment)
    name = f"metrics_{moment.astimezone(dt.UTC):%Y%m%dT%H%M%S_%f}Z_{uuid.uuid4().hex[:8]}.json"
    path = settings.metrics_dir / name
    _write_atomic(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")
    try:
        session.add(
            MetricsSnapshot(name=name, user_id=user_id, path=str(path), created_at=moment, payload=payload)
        )
        session.flush()
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return {
        "name": name,
        "size_bytes": path.stat().st_size,
        "created_at": isoformat_utc(moment),
    }


def history(session: Session, user_id: str | None, *, limit: int = 100) -> list[dict[str, Any]]:
    """Saved snapshots, newest first (a user's own, or everyone's when ``user_id`` is None)."""
    if not 1 <= limit <= MAX_HISTORY:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_HISTORY}, got {limit}")
    query = select(MetricsSnapshot).order_by(MetricsSnapshot.created_at.desc(), MetricsSnapshot.id.desc())
    if user_id is not None:
        query = query.where(MetricsSnapshot.user_id == user_id)
    answer = []
    for snap in session.scalars(query.limit(limit)):
        path = Path(snap.path)
        answer.append(
            {
                "name": snap.name,
                "user_id": snap.user_id,
                "created_at": isoformat_utc(snap.created_at),
                "size_bytes": path.stat().st_size if path.is_file() else None,
            }
        )
    return answer
