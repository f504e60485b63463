"""Opening the app container: the database, registry, job queue and webhooks, the rate limiter,
and which worker leads (schedules jobs and runs the live feed)."""

from __future__ import annotations

import logging
import threading

from filelock import FileLock, Timeout

from pipelines.app.jobs import default_tasks
from pipelines.app.recovery import recover
from pipelines.db import BufferedLogWriter, open_database
from pipelines.jobs import JobQueue
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import open_tracker
from pipelines.prediction import Predictor
from pipelines.security.secretbox import WEBHOOK_SECRETS, SecretBox
from pipelines.security.tokens import TokenPolicy
from pipelines.settings import Settings
from pipelines.webhooks import WebhookDispatcher, WebhookSubscriptions
from serving.container import AppContainer
from serving.inference import model_caller
from serving.ratelimit import open_async_rate_limiter

__all__ = ["open_container"]

log = logging.getLogger("tradeforge.serving")


async def open_container(settings: Settings) -> AppContainer:
    settings.home.mkdir(parents=True, exist_ok=True)
    database = open_database(settings)
    tracker = open_tracker(settings)
    registry = ModelRegistry(tracker, settings.models_cache_dir)
    box = SecretBox.from_settings(settings, purpose=WEBHOOK_SECRETS)
    # One process per home schedules jobs and runs the live feed (the first worker to take the
    # lock); the others submit jobs (the leader admits them) and serve their streams.
    leader = _leader_lock(settings)
    jobs = JobQueue(settings, database, default_tasks())
    allow_private = settings.serving.webhook_allow_private_urls
    container = AppContainer(
        jobs=jobs,
        webhooks=WebhookSubscriptions(box, allow_private_urls=allow_private),
        dispatcher=WebhookDispatcher(database, box, allow_private_urls=allow_private),
        settings=settings,
        database=database,
        log_writer=BufferedLogWriter(database),
        registry=registry,
        predictions=Predictor(settings, registry, caller=model_caller(settings)),
        limiter=await open_async_rate_limiter(settings),
        tokens=TokenPolicy.from_settings(settings),
        leader=leader,
    )
    if leader is not None:  # after the container subscribed: jobs a restart fails get their webhooks too
        jobs.start()
        # After the queue failed the jobs a crash interrupted, so their uploads count as abandoned; in
        # the background, so that an MLflow server slow to answer does not hold up start-up.
        recovery = {"tracker": tracker, "database": database}
        threading.Thread(
            target=recover, args=(settings,), kwargs=recovery, name="recovery", daemon=True
        ).start()
    await container.start(leader=leader is not None)
    return container


def _leader_lock(settings: Settings) -> FileLock | None:
    """The home's scheduler lock when this process got it (held until the app stops), else None."""
    settings.locks_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.locks_dir / "api-leader.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("another worker schedules jobs and runs the live feed for this home")
        return None
    return lock
