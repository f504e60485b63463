"""Jobs as callers see them (``JobInfo``), who may see them, and the queries and writes of the queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pipelines.db.job_models import Job
from pipelines.db.types import isoformat_utc, utc_now
from pipelines.errors import DataNotFoundError, PermissionDeniedError

__all__ = [
    "RESTART_REASON",
    "JobInfo",
    "Requester",
    "active_job_ids",
    "cancel_requested",
    "check_owner",
    "claim",
    "fail_running",
    "kind_label",
    "load_job",
    "queue_position",
    "queued_demands",
    "queued_ids",
    "save_outcome",
    "save_progress",
    "save_reasons",
]

RESTART_REASON = "the server restarted while this job was running"
_LABELS = {
    "training": "Model training",
    "batch_prediction": "Batch prediction",
    "prediction": "Prediction",
    "backtest": "Backtest",
    "walk_forward": "Walk-forward analysis",
    "sweep": "Parameter sweep",
    "dataset": "Dataset processing",
    "dl_training": "Training",
    "exchange_sync": "Exchange sync",
}


class Requester(Protocol):
    """Who asks: ``pipelines.db.User`` fits (a user sees their own jobs, an admin every job)."""

    @property
    def id(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...


def kind_label(kind: str) -> str:
    return _LABELS.get(kind) or kind.replace("_", " ").capitalize()


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else isoformat_utc(value)


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: str
    kind: str
    status: str
    progress: float
    description: str
    detail: dict[str, Any] | None  # the task's structured progress (None when it reports none)
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    user_id: str | None
    reason: str | None
    est_cpu_cores: float
    est_ram_gb: float
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    cancel_requested: bool
    worker_pid: int | None
    queue_position: int | None  # 1 for the next to start; None unless queued

    @classmethod
    def of(cls, job: Job, position: int | None) -> JobInfo:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            progress=float(job.progress or 0.0),
            description=job.description,
            detail=job.detail,
            params=dict(job.params or {}),
            result=job.result,
            error=job.error,
            user_id=job.user_id,
            reason=job.reason,
            est_cpu_cores=job.est_cpu_cores,
            est_ram_gb=job.est_ram_gb,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            cancel_requested=job.cancel_requested,
            worker_pid=job.worker_pid,
            queue_position=position if job.status == "queued" else None,
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    @property
    def message(self) -> str:
        """The status as a sentence: "Backtest queued. Position in queue: 1" and the like."""
        label = kind_label(self.kind)
        if self.status == "queued":
            why = " due to insufficient resources" if self.reason and "Insufficient" in self.reason else ""
            return f"{label} queued{why}. Position in queue: {self.queue_position}"
        if self.status == "running":
            return f"{label} started"
        if self.status == "failed":
            return f"{label} failed: {self.error}"
        return f"{label} {self.status}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "task_id": self.id,
            "task_type": self.kind,
            "status": self.status,
            "progress": round(self.progress, 2),
            "description": self.description,
            "params": self.params,
            "result": self.result,
            "error": self.error,
            "user_id": self.user_id,
            "queue_position": self.queue_position,
            "reason": self.reason,
            "message": self.message,
            "estimated_cpu_cores": self.est_cpu_cores,
            "estimated_ram_gb": self.est_ram_gb,
            "cancel_requested": self.cancel_requested,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


def queued_ids(session: Session) -> list[str]:
    """Queued jobs in admission order (first submitted first)."""
    rows = session.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.created_at, Job.id))
    return list(rows)


def active_job_ids(session: Session, user_id: str) -> list[str]:
    """The user's queued and running jobs (what deleting the user cancels)."""
    rows = session.scalars(
        select(Job.id).where(Job.user_id == user_id, Job.status.in_(("queued", "running"))).order_by(Job.id)
    )
    return list(rows)


def queue_position(session: Session, job: Job) -> int | None:
    if job.status != "queued":
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.status == "queued")
        .where((Job.created_at < job.created_at) | ((Job.created_at == job.created_at) & (Job.id < job.id)))
    )
    return int(ahead or 0) + 1


def check_owner(job: Job, user: Requester) -> None:
    if not user.is_admin and job.user_id != user.id:
        raise PermissionDeniedError(f"job {job.id} belongs to another user")


def load_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id) if isinstance(job_id, str) and len(job_id) <= 36 else None
    if job is None:
        raise DataNotFoundError(f"no job with id {job_id!r}")
    return job


# -- the scheduler's reads and writes ------------------------------------------------------------------
def queued_demands(session: Session) -> list[tuple[str, float, float, str | None]]:
    """Queued jobs in admission order: id, declared CPU cores and RAM (GB), the reason it waits."""
    rows = session.execute(
        select(Job.id, Job.est_cpu_cores, Job.est_ram_gb, Job.reason)
        .where(Job.status == "queued")
        .order_by(Job.created_at, Job.id)
    )
    return [(job_id, cores, ram, reason) for job_id, cores, ram, reason in rows]


def save_reasons(session: Session, reasons: Mapping[str, str | None]) -> None:
    """Why each still-queued job waits (None: it no longer does)."""
    for job_id, reason in reasons.items():
        session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(reason=reason))


def claim(session: Session, job_id: str, **values: Any) -> Job | None:
    """Mark a queued job running (atomically; with ``values`` too); None when another scheduler, a
    worker or a cancel got it first."""
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="running", started_at=utc_now(), reason=None, **values)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get_one(Job, job_id)


def save_progress(
    session: Session, job_id: str, progress: float, description: str, detail: dict[str, Any] | None = None
) -> None:
    values: dict[str, Any] = {"progress": progress, "description": description}
    if detail is not None:
        values["detail"] = detail
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def save_outcome(
    session: Session,
    job_id: str,
    status: str,
    result: dict[str, Any] | None,
    error: str | None,
    *,
    only_running: bool = False,
) -> bool:
    """Record how the job ended; ``only_running``: unless it is no longer running (cancelled or
    reaped meanwhile), in which case nothing changes. Whether it was written."""
    query = update(Job).where(Job.id == job_id)
    if only_running:
        query = query.where(Job.status == "running")
    done = session.execute(
        query.values(status=status, result=result, error=error, finished_at=utc_now(), reason=None)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def fail_running(session: Session) -> list[tuple[str, str, str | None]]:
    """Fail the jobs a previous process left running (``RESTART_REASON``); their id, kind, owner."""
    stale = [
        (job_id, kind, owner)
        for job_id, kind, owner in session.execute(
            select(Job.id, Job.kind, Job.user_id).where(Job.status == "running")
        )
    ]
    if stale:
        session.execute(
            update(Job)
            .where(Job.status == "running")
            .values(status="failed", error=RESTART_REASON, finished_at=utc_now(), worker_pid=None)
        )
    return stale


def cancel_requested(session: Session, job_ids: list[str]) -> set[str]:
    """Which of ``job_ids`` someone asked (through the database) to cancel."""
    rows = session.scalars(select(Job.id).where(Job.id.in_(job_ids), Job.cancel_requested.is_(True)))
    return set(rows)
