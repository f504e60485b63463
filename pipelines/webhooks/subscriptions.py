"""Webhook registrations: create, list and delete a user's endpoints, and read their delivery log."""

from __future__ import annotations

import secrets as random_tokens
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.db.models import User
from pipelines.db.webhook_models import DELIVERY_STATUSES, Webhook, WebhookDelivery
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError, PermissionDeniedError
from pipelines.security.secretbox import SecretBox
from pipelines.webhooks.events import check_events
from pipelines.webhooks.urls import Resolver, check_url, resolve_host

__all__ = ["MAX_WEBHOOKS_PER_USER", "NewWebhook", "WebhookSubscriptions", "generate_secret"]

MAX_WEBHOOKS_PER_USER = 20
SECRET_PREFIX = "whsec_"
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
MAX_DELIVERIES_PAGE = 500


def generate_secret() -> str:
    """A new random signing secret (256 bits)."""
    return SECRET_PREFIX + random_tokens.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """A freshly created webhook: ``secret`` is the plaintext, returned this once and stored encrypted."""

    record: Webhook
    secret: str


class WebhookSubscriptions:
    """Webhook registrations; the caller owns the session and commits (``Database.transaction()``)."""

    def __init__(
        self, box: SecretBox, *, allow_private_urls: bool = False, resolver: Resolver = resolve_host
    ) -> None:
        self._box = box
        self._allow_private = allow_private_urls
        self._resolver = resolver

    def create(
        self, session: Session, user_id: str, url: str, events: Iterable[str], secret: str | None = None
    ) -> NewWebhook:
        """Register ``url`` for ``events``; a secret is generated unless one is given."""
        target = check_url(url, allow_private=self._allow_private, resolver=self._resolver)
        wanted = check_events(events)
        plain = generate_secret() if secret is None else _check_secret(secret)
        if session.get(User, user_id) is None:
            raise DataNotFoundError(f"no user with id {user_id!r}")
        owned = session.scalars(select(Webhook.url).where(Webhook.user_id == user_id)).all()
        if target.url in owned:
            raise ConflictError(f"you already have a webhook for {target.url}; delete it first")
        if len(owned) >= MAX_WEBHOOKS_PER_USER:
            raise ConflictError(f"a user may have at most {MAX_WEBHOOKS_PER_USER} webhooks")
        record = Webhook(
            user_id=user_id, url=target.url, events=wanted, encrypted_secret=self._box.encrypt(plain)
        )
        session.add(record)
        session.flush()
        return NewWebhook(record=record, secret=plain)

    def list(self, session: Session, user_id: str | None) -> Sequence[Webhook]:
        """The webhooks of ``user_id``, newest first; ``None`` (an admin asking) lists everyone's."""
        query = select(Webhook).order_by(Webhook.created_at.desc(), Webhook.id)
        if user_id is not None:
            query = query.where(Webhook.user_id == user_id)
        return session.scalars(query).all()

    def get(self, session: Session, webhook_id: str, *, user_id: str, is_admin: bool = False) -> Webhook:
        """The webhook ``webhook_id`` if the caller owns it (or is an admin)."""
        record = session.get(Webhook, webhook_id)
        if record is None:
            raise DataNotFoundError(f"no webhook with id {webhook_id!r}")
        if record.user_id != user_id and not is_admin:
            raise PermissionDeniedError("this webhook belongs to another user")
        return record

    def delete(self, session: Session, webhook_id: str, *, user_id: str, is_admin: bool = False) -> None:
        """Delete a webhook and its delivery log; pending deliveries to it are dropped."""
        session.delete(self.get(session, webhook_id, user_id=user_id, is_admin=is_admin))
        session.flush()

    def deliveries(
        self,
        session: Session,
        webhook_id: str,
        *,
        user_id: str,
        is_admin: bool = False,
        status: str | None = None,
        limit: int = 100,
    ) -> Sequence[WebhookDelivery]:
        """The webhook's deliveries, newest first (at most ``limit``, optionally of one status)."""
        if not 1 <= limit <= MAX_DELIVERIES_PAGE:
            raise InvalidRequestError(f"limit must be between 1 and {MAX_DELIVERIES_PAGE}, got {limit}")
        if status is not None and status not in DELIVERY_STATUSES:
            raise InvalidRequestError(
                f"unknown delivery status {status!r}; the statuses are: {', '.join(DELIVERY_STATUSES)}"
            )
        self.get(session, webhook_id, user_id=user_id, is_admin=is_admin)
        query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)
        return session.scalars(query).all()

    def secret_of(self, record: Webhook) -> str:
        """The plaintext signing secret of ``record`` (for signing; never for responses)."""
        return self._box.decrypt(record.encrypted_secret)


def _check_secret(secret: str) -> str:
    if not isinstance(secret, str) or secret != secret.strip():
        raise InvalidRequestError("webhook secret must be a string without surrounding whitespace")
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise InvalidRequestError(
            f"webhook secret must be {MIN_SECRET_LENGTH}-{MAX_SECRET_LENGTH} characters, got {len(secret)}"
        )
    return secret
