"""The API's side of a job queue whose jobs Celery workers run (``TRADEFORGE_JOB_BROKER_URL`` set).

It stands where the local ``Scheduler`` stands in ``JobQueue``: a submitted job is published to the
broker (any API process may publish), a cancelled one revoked. The leader's thread (``start``) then
follows the rows the workers write, every ``poll_interval`` seconds: it publishes the job events of
what changed (a job started, its progress, its outcome) and fails a running job whose worker's
heartbeat is older than ``job_stale_seconds`` (the worker died). Events come from the rows, not from
the workers, so webhooks and every API process's streams get them whichever host ran the job, with no
second channel to configure; ``announced_status`` marks how far each job was announced, so a leader
that restarts announces what changed meanwhile, once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery
from sqlalchemy import func, select, update

from pipelines.db.engine import Database
from pipelines.db.job_models import Job
from pipelines.db.types import utc_now
from pipelines.errors import BusyError
from pipelines.jobs.broker import job_celery, publish, revoke
from pipelines.jobs.events import EventBus
from pipelines.jobs.heartbeats import (
    Announcement,
    announce,
    fail_unbeaten,
    pending_announcements,
    reap_stale,
)
from pipelines.jobs.records import RESTART_REASON, queued_ids
from pipelines.jobs.resources import Demand, Free, ResourceProbe, insufficiency
from pipelines.settings import Settings

__all__ = ["CeleryDispatch"]

log = logging.getLogger(__name__)


class CeleryDispatch:
    """Publishes jobs to Celery workers and, once started (in the leader), announces what they do."""

    ends_running_on_cancel = True  # the row is cancelled at once; the worker stops the process

    def __init__(
        self,
        settings: Settings,
        database: Database,
        events: EventBus,
        *,
        probe: ResourceProbe,
        poll_interval: float,
    ) -> None:
        self.settings = settings
        self.database = database
        self.events = events
        self.probe = probe
        self.poll_interval = poll_interval
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.closing = False
        self._app: Celery | None = None
        self._seen: dict[str, tuple[float, str, Any]] = {}  # running jobs' last announced progress
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unpublished: list[str] = []  # queued jobs to hand to the broker again
        self._publish_after = 0.0  # when to try them again after the broker failed

    @property
    def app(self) -> Celery:
        with self.lock:
            if self._app is None:
                self._app = job_celery(self.settings)
            return self._app

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Fail what local workers of an earlier process left running, hand the queued jobs to the
        broker again (a job whose message was lost runs; a duplicate is dropped by the claim), and
        follow the rows."""
        with self.lock:
            if self._thread is not None:
                return
            with self.database.transaction() as s:
                stale = fail_unbeaten(s, RESTART_REASON)
                waiting = queued_ids(s)
                s.execute(
                    update(Job)
                    .where(Job.status == "queued", Job.announced_status.is_(None))
                    .values(announced_status="queued")
                )
            for job_id, kind, owner in stale:
                self.completed(job_id, kind, owner, "failed", None, RESTART_REASON)
            self._unpublished = waiting  # published by the thread, so a broker down delays no start-up
            self._thread = threading.Thread(target=self._loop, name="job-dispatch", daemon=True)
            self._thread.start()

    def close(self, *, wait: bool, timeout: float | None) -> None:
        """Stop following the rows; the workers' jobs go on (``wait`` has nothing to wait for here)."""
        with self.lock:
            self.closing = True
            self._stop.set()
            self.changed.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self.lock:
            if self._app is not None:
                self._app.close()

    def wake(self) -> None:
        """Nothing to wake: the thread looks at the rows on its own clock."""

    # -- what the queue's requests need ------------------------------------------------------------
    def submitted(self, job_id: str) -> None:
        """Publish the job; when the broker cannot be reached it fails, with the reason, and BusyError."""
        error = self._publish(job_id)
        if error is None:
            return
        reason = f"the job broker could not be reached: {error}"
        with self.database.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(status="failed", error=reason, finished_at=utc_now(), announced_status=None)
            )
            kind, owner = s.execute(select(Job.kind, Job.user_id).where(Job.id == job_id)).one()
        self.completed(job_id, kind, owner, "failed", None, reason)
        raise BusyError(f"{reason}; submit the job again later")

    def cancelled(self, job_id: str, *, running: bool) -> None:
        revoke(self.app, job_id, running=running)

    def wait_reason(self, demand: Demand) -> str | None:
        """Why work that runs in this process (outside the queue) should wait: earlier queued jobs, or
        this machine's resources."""
        short = insufficiency(Free.of(self.probe, []), demand)
        with self.database.session() as s:
            waiting = int(s.scalar(select(func.count()).select_from(Job).where(Job.status == "queued")) or 0)
        if waiting:
            return short or f"Waiting for {waiting} earlier queued job(s)"
        return short

    def demands(self) -> list[Demand]:
        """Jobs run on the workers' machines, none on this one."""
        return []

    def completed(
        self, job_id: str, kind: str, owner: str | None, status: str, result: Any, error: str | None
    ) -> None:
        """Publish ``task_completed`` and wake whoever waits for a job to finish."""
        self.events.completed(job_id, kind, owner, status, result, error)
        with self.changed:
            self.changed.notify_all()

    # -- the leader's thread -----------------------------------------------------------------------
    def _publish(self, job_id: str) -> str | None:
        try:
            publish(self.app, job_id, self.settings.jobs.job_queue)
        except Exception as exc:
            log.warning("could not publish job %s: %s", job_id, exc)
            return f"{type(exc).__name__}: {exc}"
        return None

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self._republish()
            try:
                self.sweep()
            except Exception:  # a database hiccup must not end the thread
                log.exception("following the job workers' rows failed")

    def _republish(self) -> None:
        """Hand the jobs queued at start-up to the broker again (every 10 s while it cannot be reached)."""
        if not self._unpublished or time.monotonic() < self._publish_after:
            return
        while self._unpublished:
            if self._publish(self._unpublished[0]) is not None:
                self._publish_after = time.monotonic() + 10.0
                return
            self._unpublished.pop(0)

    def sweep(self) -> None:
        """One look at the rows: reap the jobs of dead workers, announce what changed."""
        with self.database.transaction() as s:
            reaped = reap_stale(s, self.settings.jobs.job_stale_seconds)
        for job_id, kind, owner, reason in reaped:
            log.warning("job %s (%s) failed: %s", job_id, kind, reason)
            self._seen.pop(job_id, None)
            self.completed(job_id, kind, owner, "failed", None, reason)
        with self.database.session() as s:
            pending = pending_announcements(s)
        for job in pending:
            self._announce(job)
        following = {job.id for job in pending}
        for job_id in [j for j in self._seen if j not in following]:  # cancelled: announced by the API
            del self._seen[job_id]

    def _announce(self, job: Announcement) -> None:
        if job.status != "queued" and job.announced == "queued":
            data = {"task_id": job.id, "task_type": job.kind, "description": job.description}
            self.events.publish("task_running", data, job.user_id)
        if job.status in ("running", "completed"):
            self._progress(job)
        if job.status in ("completed", "failed", "cancelled"):
            self._seen.pop(job.id, None)
            self.completed(job.id, job.kind, job.user_id, job.status, job.result, job.error)
        if job.status != job.announced:
            with self.database.transaction() as s:
                announce(s, job.id, job.announced, None if job.status != "running" else "running")
            with self.changed:
                self.changed.notify_all()

    def _progress(self, job: Announcement) -> None:
        now = (round(job.progress, 2), job.description, job.detail)
        if self._seen.get(job.id) == now:
            return
        self._seen[job.id] = now
        data: dict[str, Any] = {
            "task_id": job.id,
            "task_type": job.kind,
            "description": job.description,
            "progress": now[0],
        }
        if job.detail is not None:
            data["detail"] = job.detail
        self.events.publish("task_description_update", data, job.user_id)
