"""Answers of the job and system routes."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from serving.responses import Shape

__all__ = ["Job", "JobAccepted", "JobList", "QueueSnapshot", "ResourcesOnly", "SystemResources"]


class Job(Shape):
    job_id: str
    task_id: str
    task_type: str
    status: str
    progress: float
    description: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    user_id: str | None
    queue_position: int | None
    reason: str | None
    message: str | None
    estimated_cpu_cores: float
    estimated_ram_gb: float
    cancel_requested: bool
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class JobAccepted(Job):
    accepted: bool
    job_url: str
    webhook_url: str
    events_url: str
    estimated_completion: str | None
    job_status: str | UnsetType | None = UNSET  # batch predictions sent async


class JobList(Shape):
    jobs: list[Job]
    count: int


class QueueSnapshot(Shape):
    running_count: int
    queued_count: int
    running_tasks: list[dict[str, Any]]
    queued_tasks: list[dict[str, Any]]


class ResourcesOnly(Shape):
    resources: dict[str, Any]


class SystemResources(Shape):
    queue: QueueSnapshot
    is_admin: bool
    resources: dict[str, Any] | UnsetType | None = UNSET  # admins only
