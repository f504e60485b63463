"""The durable, resource-aware job queue: submit, follow and cancel jobs.

Jobs live in the app database (``pipelines.db.job_models.Job``). Each runs in its own worker
process, never on the caller's thread or event loop; the scheduler thread that admits them first in
first out when their declared resources fit, follows their progress and stops overgrown workers is
``pipelines.jobs.scheduler``.

With ``TRADEFORGE_JOB_BROKER_URL`` set, Celery workers on any host run the jobs instead
(``pipelines.jobs.dispatch`` on this side, ``pipelines.jobs.runner`` on theirs); the rows stay the record.

Durability: the database is the queue. On ``start()`` jobs left ``running`` by a previous process
are failed (``RESTART_REASON``) and queued jobs run in their order. One queue (one process) schedules
a database; other processes may submit, read and request cancellation through the same tables.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from sqlalchemy import func, select

from pipelines.db.engine import Database
from pipelines.db.job_models import JOB_STATUSES, Job
from pipelines.db.types import utc_now
from pipelines.errors import ConflictError, InvalidRequestError
from pipelines.jobs.dispatch import CeleryDispatch
from pipelines.jobs.events import EventBus, Subscriber
from pipelines.jobs.records import JobInfo, Requester, check_owner, load_job, queue_position, queued_ids
from pipelines.jobs.resources import Demand, PsutilProbe, ResourceProbe
from pipelines.jobs.resources import too_large_for_machine as _too_large
from pipelines.jobs.scheduler import Scheduler
from pipelines.jobs.task_kinds import TaskKinds
from pipelines.jobs.views import queue_snapshot, resource_view
from pipelines.settings import Settings

__all__ = ["JobQueue"]


class JobQueue:
    """Submit, follow and cancel jobs; ``start()`` (or ``with``) runs the scheduler, ``close()`` stops it."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        tasks: TaskKinds,
        *,
        max_workers: int | None = None,
        probe: ResourceProbe | None = None,
        progress_interval: float = 0.2,
        poll_interval: float = 0.5,
        memory_margin_gb: float = 0.5,
        memory_interval: float = 0.2,
    ) -> None:
        """``memory_margin_gb``: how far past its declared RAM a worker may grow before it is stopped
        (``memory_ceiling_gb``); its memory is read every ``memory_interval`` seconds."""
        if max_workers is not None and max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.settings = settings
        self.database = database
        self.tasks = tasks
        self.max_workers = max_workers
        self.probe: ResourceProbe = probe or PsutilProbe()
        self.progress_interval = progress_interval
        self.poll_interval = poll_interval
        self.memory_margin_gb = memory_margin_gb
        self.memory_interval = memory_interval
        self.events = EventBus()
        self.remote = settings.jobs.job_broker_url is not None
        self._scheduler: Scheduler | CeleryDispatch
        if self.remote:  # Celery workers on any host run the jobs
            self._scheduler = CeleryDispatch(
                settings, database, self.events, probe=self.probe, poll_interval=poll_interval
            )
        else:
            self._scheduler = Scheduler(
                settings,
                database,
                tasks,
                self.events,
                max_workers=max_workers,
                probe=self.probe,
                progress_interval=progress_interval,
                poll_interval=poll_interval,
                memory_margin_gb=memory_margin_gb,
                memory_interval=memory_interval,
            )
        self._lock = self._scheduler.lock
        self._changed = self._scheduler.changed

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> JobQueue:
        """Fail the jobs a previous process left running, then schedule (queued jobs resume in order)."""
        self._scheduler.start()
        return self

    def close(self, *, wait: bool = False, timeout: float | None = None) -> None:
        """Stop scheduling. ``wait``: let running jobs finish first (up to ``timeout``).

        Without waiting, running workers are terminated and their rows are left ``running``, exactly
        as after a crash: the next ``start()`` fails them with ``RESTART_REASON``.
        """
        self._scheduler.close(wait=wait, timeout=timeout)

    def __enter__(self) -> JobQueue:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def subscribe(self, callback: Subscriber) -> Any:
        """Every later job event (see ``pipelines.jobs.events``); returns the unsubscribe function."""
        return self.events.subscribe(callback)

    # -- requests ----------------------------------------------------------------------------------
    def submit(self, kind: str, params: Mapping[str, Any] | None, owner: str | None = None) -> JobInfo:
        """Validate, queue, and start at once when the job fits (then its status is ``running``)."""
        spec = self.tasks.get(kind)
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise InvalidRequestError("job parameters must be a JSON object")
        checked = spec.validate(dict(params), self.settings) if spec.validate else dict(params)
        try:
            json.dumps(checked, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"job parameters must be JSON values: {exc}") from None
        demand = Demand(spec.cpu_cores, spec.ram_for(checked))
        refusal = None if self.remote else _too_large(self.probe, kind, demand)  # remote: other machines
        if refusal is not None:
            raise InvalidRequestError(refusal)
        with self._lock:
            if self._scheduler.closing:
                raise ConflictError("the job queue is shutting down; submit again later")
            with self.database.transaction() as s:
                ahead = s.scalar(select(func.count()).select_from(Job).where(Job.status == "queued"))
                job = Job(
                    kind=kind,
                    status="queued",
                    progress=0.0,
                    description=spec.description(checked),
                    params=checked,
                    user_id=owner,
                    est_cpu_cores=demand.cpu_cores,
                    est_ram_gb=demand.ram_gb,
                    cancel_requested=False,
                    announced_status="queued" if self.remote else None,
                )
                s.add(job)
                s.flush()
                job_id = job.id
            data = {"task_id": job_id, "task_type": kind, "queue_position": int(ahead or 0) + 1}
            self.events.publish("task_queued", data, owner)
            self._scheduler.submitted(job_id)
            return self.info(job_id)

    def admission(self, kind: str, params: Mapping[str, Any]) -> str | None:
        """Why a ``kind`` job of ``params`` (already checked) would wait if submitted now; None when
        the queue would start it at once. Work run outside the queue asks this first."""
        spec = self.tasks.get(kind)
        return self._scheduler.wait_reason(Demand(spec.cpu_cores, spec.ram_for(dict(params))))

    def info(self, job_id: str) -> JobInfo:
        """A job by id, without an ownership check (for the server's own use)."""
        with self.database.session() as s:
            job = load_job(s, job_id)
            return JobInfo.of(job, queue_position(s, job))

    def get(self, job_id: str, user: Requester) -> JobInfo:
        """A job of ``user`` (any job for an admin); someone else's is PermissionDeniedError."""
        with self.database.session() as s:
            job = load_job(s, job_id)
            check_owner(job, user)
            return JobInfo.of(job, queue_position(s, job))

    def list_jobs(
        self, user: Requester, *, status: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[JobInfo]:
        """Newest first: the user's own jobs, or everyone's for an admin."""
        if not 1 <= limit <= 1000:
            raise InvalidRequestError(f"limit must be between 1 and 1000, got {limit}")
        if status is not None and status not in JOB_STATUSES:
            raise InvalidRequestError(f"unknown status {status!r}; expected one of {', '.join(JOB_STATUSES)}")
        query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        if not user.is_admin:
            query = query.where(Job.user_id == user.id)
        if status is not None:
            query = query.where(Job.status == status)
        if kind is not None:
            query = query.where(Job.kind == kind)
        with self.database.session() as s:
            positions = {job_id: i for i, job_id in enumerate(queued_ids(s), 1)}
            return [JobInfo.of(job, positions.get(job.id)) for job in s.scalars(query)]

    def cancel(self, job_id: str, user: Requester) -> JobInfo:
        """Cancel a queued job, or terminate a running one's worker; a finished job is a ConflictError."""
        with self._lock:
            with self.database.transaction() as s:
                job = load_job(s, job_id)
                check_owner(job, user)
                if job.is_terminal:
                    raise ConflictError(f"job {job_id} is already {job.status}")
                running = job.status == "running"
                job.cancel_requested = True
                # A local running job ends when its worker has stopped; a Celery worker's at once.
                ends_now = not running or self._scheduler.ends_running_on_cancel
                if ends_now:
                    job.status, job.finished_at, job.reason = "cancelled", utc_now(), None
                    job.error, job.announced_status = "cancelled by request", None
                kind, owner = job.kind, job.user_id
            if ends_now:
                self._scheduler.completed(job_id, kind, owner, "cancelled", None, "cancelled by request")
            self._scheduler.cancelled(job_id, running=running)
            self._scheduler.wake()
        return self.info(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo:
        """Block until the job has finished (or ``timeout`` passed); returns its latest state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                current = self.info(job_id)
                left = None if deadline is None else deadline - time.monotonic()
                if current.is_terminal or (left is not None and left <= 0):
                    return current
                self._changed.wait(min(left, self.poll_interval) if left is not None else self.poll_interval)

    # -- views (/api/system/queue and /api/system/resources) ---------------------------------------
    def snapshot(self, user_id: str | None = None) -> dict[str, Any]:
        """Running and queued jobs: all of them, or only ``user_id``'s (positions stay global)."""
        return queue_snapshot(self.database, user_id)

    def resources(self) -> dict[str, Any]:
        """CPU and RAM as admission sees them: totals, what running jobs declared, what is free."""
        return resource_view(self.probe, self._scheduler.demands())
