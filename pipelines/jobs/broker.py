"""The job queue over a Celery broker (``TRADEFORGE_JOB_BROKER_URL``): the Celery app both ends build,
publishing and revoking a job, and the worker that runs them (``tradeforge jobs worker``).

A job is published as one task, ``tradeforge.jobs.run``, whose only argument is the job's id and whose
Celery task id is the job's id too (so revoking the job revokes its task). Messages are acknowledged
late (after the job ended), one prefetched at a time: a worker killed before it claimed a job leaves its
message to another worker; one killed after the claim leaves a running row, which the API's reaper fails
when its heartbeat goes stale, and the redelivered message is dropped (the claim happens once).

The worker's pool is threads: each thread follows one job's own spawned process (the local scheduler's
``WorkerRun``), so the jobs of one worker share its admission arithmetic and a revoked running job is
stopped by its thread (SIGTERM, then SIGKILL after a grace period) rather than by killing a pool process.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Sequence
from typing import Any

from celery import Celery
from celery.concurrency.thread import TaskPool
from celery.worker import state as worker_state

from pipelines.errors import InvalidRequestError
from pipelines.jobs.runner import JobRunner
from pipelines.settings import Settings

__all__ = [
    "RUN_TASK",
    "JobPool",
    "job_celery",
    "publish",
    "revoke",
    "run_worker",
    "worker_celery",
    "worker_queues",
]

log = logging.getLogger(__name__)

RUN_TASK = "tradeforge.jobs.run"
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
# Publishing is part of a request: a broker that does not answer fails it within seconds.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.0, "interval_step": 0.5, "interval_max": 1.0}


def job_celery(settings: Settings) -> Celery:
    """The Celery app of the job queue (publisher or worker), on ``settings.jobs.job_broker_url``."""
    url = settings.jobs.job_broker_url
    if not url:
        raise ValueError("TRADEFORGE_JOB_BROKER_URL is not set: jobs run in the API's own worker processes")
    app = Celery("tradeforge-jobs", broker=url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.jobs.job_queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=False,  # the row, not a requeue, records a job whose worker died
        worker_prefetch_multiplier=1,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        broker_connection_timeout=4.0,
        broker_connection_retry_on_startup=True,
        task_publish_retry_policy=_PUBLISH_RETRY,
    )
    return app


def publish(app: Celery, job_id: str, queue: str) -> None:
    """Hand a queued job to the workers of ``queue`` (raises when the broker cannot be reached)."""
    app.send_task(
        RUN_TASK, args=[job_id], task_id=job_id, queue=queue, retry=True, retry_policy=_PUBLISH_RETRY
    )


def revoke(app: Celery, job_id: str, *, running: bool) -> None:
    """Tell every worker to drop the job's task; a running one is terminated by the worker running it."""
    try:
        app.control.revoke(job_id, terminate=running, signal="SIGTERM")
    except Exception as exc:  # the row says cancelled: the worker stops the job at its next heartbeat
        log.warning("could not revoke job %s through the broker: %s", job_id, exc)


class JobPool(TaskPool):  # type: ignore[misc]
    """Celery's thread pool, told how a revoked running job ends: its thread sees the revocation
    and stops the job's process itself (a thread cannot be killed from outside)."""

    def terminate_job(self, pid: int | None, signal: Any = None) -> None:
        return None


def worker_celery(settings: Settings, runner: JobRunner) -> Celery:
    """The job queue's Celery app with its one task, which runs jobs through ``runner``."""
    app = job_celery(settings)

    @app.task(name=RUN_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def run(task: Any, job_id: str) -> None:
        wait = runner.run(str(job_id), lambda: job_id in worker_state.revoked)
        if wait is not None:
            raise task.retry(countdown=wait)

    return app


def worker_queues(settings: Settings, concurrency: int, queues: Sequence[str]) -> list[str]:
    """The queues a worker consumes (the configured one when none is named); InvalidRequestError when
    the broker is not configured, the concurrency is not 1-256 or a queue name is not a plain name."""
    if not settings.jobs.job_broker_url:
        raise InvalidRequestError(
            "TRADEFORGE_JOB_BROKER_URL is not set: without a broker the API runs its jobs in its own "
            "worker processes (set it on the API and on this worker, e.g. amqp://user:pass@host:5672//)"
        )
    if not 1 <= concurrency <= 256:
        raise InvalidRequestError(f"--concurrency must be from 1 to 256, got {concurrency}")
    names = [q.strip() for given in queues for q in given.split(",") if q.strip()]
    for name in names:
        if not _QUEUE_NAME.match(name):
            raise InvalidRequestError(f"queue {name!r}: 1-200 letters, digits, '_', '.', ':' or '-' expected")
    return names or [settings.jobs.job_queue]


def run_worker(
    settings: Settings, runner: JobRunner, *, concurrency: int, queues: Sequence[str], loglevel: str = "INFO"
) -> int:
    """Consume ``queues`` with ``concurrency`` jobs at most at once until stopped (SIGTERM lets the
    running jobs finish first); the worker's exit status."""
    app = worker_celery(settings, runner)
    worker = app.Worker(
        hostname=f"tradeforge-jobs-{os.getpid()}@{socket.gethostname()}",
        pool_cls=JobPool,
        concurrency=concurrency,
        queues=list(queues),
        loglevel=loglevel,
        without_mingle=True,  # jobs need no state synchronised between workers,
        without_gossip=True,  # nor to hear of the others
    )
    worker.start()
    return int(worker.exitcode or 0)
