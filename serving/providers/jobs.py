"""What the job routes (/api/v1/jobs, /jobs, /api/system) need: the job queue, a job's files (read
in their own unit of work), and the task-event streams with the guard that ends a stream whose
user lost access."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.db import Database
from pipelines.jobs import JobQueue
from pipelines.jobs.files import job_file
from pipelines.settings import Settings
from serving.access import AccessControl
from serving.context import Principal
from serving.events import EventRouter
from serving.providers.wiring import authenticated, provides

__all__ = ["JOBS", "JobsDep", "JobsProvider"]


class JobsProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        jobs: JobQueue,
        events: EventRouter,
        access: AccessControl,
    ) -> None:
        self.settings = settings
        self.queue = jobs
        self.job_streams = events.job_streams
        self.streams = access.streams
        self._database = database

    def job_file(self, job_id: str, name: str, principal: Principal) -> Path:
        """The Parquet file ``name`` of a job the caller may see."""
        return job_file(self.settings, self._database, job_id, name, principal)


JobsDep = NamedDependency[JobsProvider]


def _provide(state: State) -> JobsProvider:
    provider: JobsProvider = state.container.jobs_provider
    return provider


def _principal(jobs: JobsDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


JOBS = provides("jobs", _provide, _principal)
"""The dependencies of the job controllers: ``jobs: JobsDep`` and ``principal``."""
