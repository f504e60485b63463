"""The rows of jobs that Celery workers run: heartbeats, the reaper's sweep, and the announcements.

A worker claims a job with the same conditional UPDATE as the local scheduler (queued -> running once)
and stamps its host and a heartbeat; while the job runs it refreshes the heartbeat with the progress.
The API's leader fails a running job whose heartbeat went stale (its worker died) and announces every
state change a worker wrote (``announced_status`` is the last state announced; None once the final one
was, and for jobs the local workers run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipelines.db.job_models import Job
from pipelines.db.types import isoformat_utc, utc_now

__all__ = [
    "Announcement",
    "announce",
    "beat",
    "fail_unbeaten",
    "pending_announcements",
    "reap_stale",
]


def beat(session: Session, job_id: str, values: dict[str, Any]) -> str | None:
    """A worker's running job is alive (with its progress in ``values``, if any); its status now, so
    that the worker stops a job cancelled or reaped meanwhile (None when the row is gone)."""
    session.execute(
        update(Job).where(Job.id == job_id, Job.status == "running").values(heartbeat_at=utc_now(), **values)
    )
    status: str | None = session.scalar(select(Job.status).where(Job.id == job_id))
    return status


def reap_stale(session: Session, stale_seconds: float) -> list[tuple[str, str, str | None, str]]:
    """Fail the running jobs whose worker's heartbeat is older than ``stale_seconds``: id, kind, owner
    and the reason of each. Conditional, so a job its worker finished meanwhile keeps its outcome."""
    cutoff = utc_now() - dt.timedelta(seconds=stale_seconds)
    rows = session.execute(
        select(Job.id, Job.kind, Job.user_id, Job.worker_host, Job.heartbeat_at).where(
            Job.status == "running", Job.heartbeat_at.is_not(None), Job.heartbeat_at < cutoff
        )
    ).all()
    failed = []
    for job_id, kind, owner, host, last in rows:
        when = isoformat_utc(last) if last is not None else "never"
        reason = (
            f"the job worker on {host or 'an unknown host'} stopped while running this job (no heartbeat "
            f"since {when}, {stale_seconds:g} s allowed); the job was not run again"
        )
        done = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.heartbeat_at < cutoff)
            .values(status="failed", error=reason, finished_at=utc_now(), announced_status=None)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            failed.append((job_id, kind, owner, reason))
    return failed


def fail_unbeaten(session: Session, reason: str) -> list[tuple[str, str, str | None]]:
    """Fail the running jobs no Celery worker claimed (local workers of an earlier process, which
    beat no heart): id, kind and owner of each."""
    rows = session.execute(
        select(Job.id, Job.kind, Job.user_id).where(Job.status == "running", Job.heartbeat_at.is_(None))
    ).all()
    if rows:
        session.execute(
            update(Job)
            .where(Job.status == "running", Job.heartbeat_at.is_(None))
            .values(status="failed", error=reason, finished_at=utc_now(), worker_pid=None)
        )
    return [(job_id, kind, owner) for job_id, kind, owner in rows]


@dataclass(frozen=True, slots=True)
class Announcement:
    """A job whose row may hold news: its state now and the state last announced."""

    id: str
    kind: str
    user_id: str | None
    status: str
    announced: str
    progress: float
    description: str
    detail: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None


def pending_announcements(session: Session) -> list[Announcement]:
    """The jobs of Celery workers not yet announced in their final state (queued, running, or
    finished by a worker since the last look)."""
    rows = session.scalars(select(Job).where(Job.announced_status.is_not(None)).order_by(Job.created_at))
    return [
        Announcement(
            job.id,
            job.kind,
            job.user_id,
            job.status,
            str(job.announced_status),
            float(job.progress or 0.0),
            job.description,
            job.detail,
            job.result,
            job.error,
        )
        for job in rows
    ]


def announce(session: Session, job_id: str, was: str, now: str | None) -> None:
    """Record that ``job_id``'s state ``was`` has been announced as ``now`` (None: final)."""
    session.execute(
        update(Job).where(Job.id == job_id, Job.announced_status == was).values(announced_status=now)
    )
