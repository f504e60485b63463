"""The views of the queue served at ``/api/system/queue`` and ``/api/system/resources``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pipelines.db.engine import Database
from pipelines.db.job_models import Job
from pipelines.db.types import isoformat_utc
from pipelines.jobs.records import queued_ids
from pipelines.jobs.resources import Demand, Free, ResourceProbe

__all__ = ["queue_snapshot", "resource_view"]


def queue_snapshot(database: Database, user_id: str | None = None) -> dict[str, Any]:
    """Running and queued jobs: all of them, or only ``user_id``'s (queue positions stay global)."""
    with database.session() as s:
        positions = {job_id: i for i, job_id in enumerate(queued_ids(s), 1)}
        query = select(Job).where(Job.status.in_(("running", "queued"))).order_by(Job.created_at)
        if user_id is not None:
            query = query.where(Job.user_id == user_id)
        jobs = list(s.scalars(query))
    running = [
        {
            "task_id": j.id,
            "task_type": j.kind,
            "estimated_cpu_cores": j.est_cpu_cores,
            "estimated_ram_gb": j.est_ram_gb,
            "description": j.description,
            "progress": round(j.progress, 2),
            "started_at": None if j.started_at is None else isoformat_utc(j.started_at),
        }
        for j in jobs
        if j.status == "running"
    ]
    waiting = sorted(
        (j for j in jobs if j.status == "queued" and j.id in positions), key=lambda j: positions[j.id]
    )
    queued = [
        {
            "task_id": j.id,
            "task_type": j.kind,
            "queue_position": positions[j.id],
            "estimated_cpu_cores": j.est_cpu_cores,
            "estimated_ram_gb": j.est_ram_gb,
            "queued_at": isoformat_utc(j.created_at),
            "reason": j.reason,
        }
        for j in waiting
    ]
    return {
        "running_count": len(running),
        "queued_count": len(queued),
        "running_tasks": running,
        "queued_tasks": queued,
    }


def resource_view(probe: ResourceProbe, running: list[Demand]) -> dict[str, Any]:
    """Totals, what running jobs declared, and what is free for admission (see ``Free``)."""
    total_cores = probe.total_cores()
    in_use_cores = sum(d.cpu_cores for d in running)
    total_ram = probe.total_ram_gb()
    free = Free.of(probe, running)
    in_use_ram = max(0.0, total_ram - free.ram_gb)
    return {
        "cpu": {
            "available_cores": round(total_cores, 2),
            "in_use_cores": round(in_use_cores, 2),
            "usage_percent": round(100.0 * in_use_cores / total_cores, 2) if total_cores else 0.0,
        },
        "ram": {
            "total_gb": round(total_ram, 2),
            "available_gb": round(free.ram_gb, 2),
            "in_use_gb": round(in_use_ram, 2),
            "usage_percent": round(100.0 * in_use_ram / total_ram, 2) if total_ram else 0.0,
        },
    }
