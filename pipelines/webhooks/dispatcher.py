"""The webhook dispatcher: background threads that send pending deliveries, retrying with backoff.

Deliveries live in the database (``webhook_deliveries``), so none is lost when the process stops:
a new dispatcher picks up whatever is still pending. A worker claims a due delivery by moving its
``next_attempt_at`` forward by a lease in a conditional UPDATE, so that dispatchers in several
processes never send one attempt twice; an attempt interrupted by a crash is retried when the lease
runs out. Delivery is therefore at least once; receivers deduplicate on ``X-Tradeforge-Delivery``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, func, select, update

from pipelines.db.engine import Database
from pipelines.db.types import isoformat_utc, utc_now
from pipelines.db.webhook_models import Webhook, WebhookDelivery
from pipelines.errors import InvalidRequestError
from pipelines.security.secretbox import WEBHOOK_SECRETS, SecretBox, SecretDecryptionError
from pipelines.settings import Settings
from pipelines.webhooks.outbox import enqueue
from pipelines.webhooks.sender import Attempt, render_body, send
from pipelines.webhooks.urls import Resolver, UnresolvableHostError, check_url, resolve_host

__all__ = ["RetryPolicy", "WebhookDispatcher"]

log = logging.getLogger(__name__)

PENDING = WebhookDelivery.status == "pending"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``max_attempts`` attempts; after attempt n the next waits ``backoff_seconds * 2**(n-1)``
    (1, 2, 4, 8, 16 s by default), never more than ``max_backoff_seconds``."""

    max_attempts: int = 6
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.backoff_seconds < 0 or self.max_backoff_seconds < 0:
            raise ValueError(f"invalid retry policy {self!r}")

    def delay(self, attempts: int) -> float:
        return float(min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.max_backoff_seconds))


@dataclass(frozen=True, slots=True)
class _Job:
    """What one attempt needs, read from the delivery and its webhook."""

    delivery_id: str
    event: str
    body: bytes
    url: str
    encrypted_secret: str
    active: bool


class WebhookDispatcher:
    """Sends the deliveries recorded by ``publish`` (or ``outbox.enqueue`` anywhere) from ``workers``
    background threads. ``close()`` stops them; an attempt in flight finishes first."""

    def __init__(
        self,
        database: Database,
        box: SecretBox,
        *,
        allow_private_urls: bool = False,
        retry: RetryPolicy | None = None,
        timeout_seconds: float = 5.0,
        workers: int = 4,
        poll_seconds: float = 2.0,
        lease_seconds: float = 60.0,
        resolver: Resolver = resolve_host,
        start: bool = True,
    ) -> None:
        if workers < 1 or poll_seconds <= 0 or lease_seconds <= timeout_seconds:
            raise ValueError("need workers >= 1, poll_seconds > 0 and lease_seconds > timeout_seconds")
        self._db = database
        self._box = box
        self._allow_private = allow_private_urls
        self._retry = retry or RetryPolicy()
        self._poll = poll_seconds
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._resolver = resolver
        # No proxies from the environment (they would bypass the address checks) and no redirects
        # (a redirect could point anywhere).
        self._client = httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False)
        self._wakeup = threading.Condition()
        self._generation = 0
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"webhook-dispatcher-{i}", daemon=True)
            for i in range(workers)
        ]
        self._started = False
        if start:
            self.start()

    @classmethod
    def from_settings(
        cls, database: Database, settings: Settings, *, allow_private_urls: bool = False, **options: Any
    ) -> WebhookDispatcher:
        return cls(
            database,
            SecretBox.from_settings(settings, purpose=WEBHOOK_SECRETS),
            allow_private_urls=allow_private_urls,
            **options,
        )

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        for thread in self._threads:
            thread.start()

    def publish(self, event: str, payload: Mapping[str, Any], user_id: str) -> list[str]:
        """Record a delivery of ``event`` to each of the user's subscribed webhooks; their ids.

        Returns once the rows are committed (no network I/O; from async code call it in a thread); the
        workers send them. To publish atomically with other changes, call ``outbox.enqueue`` in that
        transaction instead, then ``wake()``.
        """
        with self._db.transaction() as session:
            ids = enqueue(session, event, payload, user_id)
        if ids:
            self.wake()
        return ids

    def wake(self) -> None:
        """Look for due deliveries now (after another process or session enqueued some)."""
        with self._wakeup:
            self._generation += 1
            self._wakeup.notify_all()

    def wait_for(self, delivery_ids: Collection[str], timeout: float = 10.0) -> dict[str, str]:
        """Block until none of ``delivery_ids`` is pending (or ``timeout``); their statuses."""
        deadline = time.monotonic() + timeout
        while True:
            with self._db.session() as session:
                rows = session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.status).where(
                        WebhookDelivery.id.in_(list(delivery_ids))
                    )
                ).all()
            statuses = {row.id: row.status for row in rows}
            if all(s != "pending" for s in statuses.values()) or time.monotonic() >= deadline:
                return statuses
            time.sleep(0.02)

    def close(self, timeout: float | None = None) -> None:
        """Stop the workers (waiting for attempts in flight) and release the HTTP client."""
        self._stopping.set()
        self.wake()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        self._client.close()

    def __enter__(self) -> WebhookDispatcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # The workers.

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._wakeup:
                generation = self._generation
            try:
                if self._work_once():
                    continue
                pause = self._until_next_due()
            except Exception:  # a database hiccup must not kill the worker; try again later
                log.exception("webhook dispatcher: error while sending deliveries")
                pause = self._poll
            with self._wakeup:
                if self._generation == generation and not self._stopping.is_set():
                    self._wakeup.wait(pause)

    def _work_once(self) -> bool:
        """Claim one due delivery and attempt it; False when none is due."""
        now = utc_now()
        with self._db.session() as session:
            due = session.scalars(
                select(WebhookDelivery.id)
                .where(PENDING, WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(len(self._threads) + 1)
            ).all()
        for delivery_id in due:
            if self._claim(delivery_id, now):
                self._attempt(delivery_id)
                return True
        return False

    def _claim(self, delivery_id: str, now: dt.datetime) -> bool:
        with self._db.transaction() as session:
            result = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, PENDING, WebhookDelivery.next_attempt_at <= now)
                .values(next_attempt_at=now + self._lease)
                .execution_options(synchronize_session=False)
            )
            return cast(CursorResult[Any], result).rowcount == 1

    def _until_next_due(self) -> float:
        with self._db.session() as session:
            upcoming = session.scalar(select(func.min(WebhookDelivery.next_attempt_at)).where(PENDING))
        if upcoming is None:
            return self._poll
        return min(max((upcoming - utc_now()).total_seconds(), 0.01), self._poll)

    def _attempt(self, delivery_id: str) -> None:
        job = self._load(delivery_id)
        if job is None:
            return  # the webhook was deleted meanwhile
        if not job.active:
            self._record(delivery_id, Attempt(None, "the webhook is disabled"), final=True)
            return
        try:
            secret = self._box.decrypt(job.encrypted_secret)
            target = check_url(job.url, allow_private=self._allow_private, resolver=self._resolver)
        except UnresolvableHostError as exc:
            self._record(delivery_id, Attempt(None, str(exc)), final=False)
            return
        except (InvalidRequestError, SecretDecryptionError) as exc:  # e.g. the host now resolves privately
            self._record(delivery_id, Attempt(None, str(exc)), final=True)
            return
        try:
            outcome = send(
                self._client,
                target,
                secret=secret,
                delivery_id=job.delivery_id,
                event=job.event,
                body=job.body,
            )
        except Exception as exc:  # a bug or an odd answer: record it like any failed attempt, retry later
            log.exception("webhook delivery %s: unexpected error while sending", delivery_id)
            outcome = Attempt(None, f"{type(exc).__name__}: {exc}"[:500])
        self._record(delivery_id, outcome, final=not outcome.retryable)

    def _load(self, delivery_id: str) -> _Job | None:
        with self._db.session() as session:
            row = session.execute(
                select(WebhookDelivery, Webhook)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.id == delivery_id)
            ).one_or_none()
            if row is None:
                return None
            delivery, webhook = row
            body = render_body(
                delivery.id, delivery.event, isoformat_utc(delivery.created_at), delivery.payload
            )
            return _Job(
                delivery_id=delivery.id,
                event=delivery.event,
                body=body,
                url=webhook.url,
                encrypted_secret=webhook.encrypted_secret,
                active=webhook.active,
            )

    def _record(self, delivery_id: str, attempt: Attempt, *, final: bool) -> None:
        now = utc_now()
        with self._db.transaction() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != "pending":
                return
            delivery.attempts += 1
            delivery.last_status_code = attempt.status_code
            delivery.last_error = attempt.error
            if attempt.delivered:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
            elif final or delivery.attempts >= self._retry.max_attempts:
                delivery.status, delivery.next_attempt_at = "failed", None
            else:
                delivery.next_attempt_at = now + dt.timedelta(seconds=self._retry.delay(delivery.attempts))
            status, attempts = delivery.status, delivery.attempts
        if status == "failed":
            log.warning(
                "webhook delivery %s failed after %d attempt(s): %s", delivery_id, attempts, attempt.error
            )
        elif status == "pending":
            log.info(
                "webhook delivery %s attempt %d failed (%s); retrying", delivery_id, attempts, attempt.error
            )
