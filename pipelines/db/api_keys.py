"""API keys: created once in plaintext, stored as a hash, revoked by their owner or an admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.db.models import ApiKey, User
from pipelines.db.types import utc_now
from pipelines.errors import (
    AuthenticationError,
    ConflictError,
    DataNotFoundError,
    PermissionDeniedError,
)
from pipelines.names import check_name
from pipelines.security.api_keys import API_KEY_PREFIX, display_prefix, generate_api_key, hash_api_key

__all__ = ["NewApiKey", "authenticate_api_key", "create_api_key", "list_api_keys", "revoke_api_key"]

MAX_NAME_LENGTH = 100
# ``last_used_at`` is rewritten at most this often per key, so that a busy key does not turn every
# authenticated request into a write.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly created key: ``key`` is the plaintext, shown this one time and never stored."""

    record: ApiKey
    key: str


def create_api_key(session: Session, user_id: str, name: str) -> NewApiKey:
    """A new key for ``user_id``; a name already used by one of the user's active keys is a conflict."""
    clean = check_name(name, "API key name", max_length=MAX_NAME_LENGTH)
    if session.get(User, user_id) is None:
        raise DataNotFoundError(f"no user with id {user_id!r}")
    taken = session.scalars(
        select(ApiKey.id).where(ApiKey.user_id == user_id, ApiKey.name == clean, ApiKey.revoked_at.is_(None))
    ).first()
    if taken is not None:
        raise ConflictError(f"you already have an active API key named {clean!r}")
    key = generate_api_key()
    record = ApiKey(user_id=user_id, name=clean, prefix=display_prefix(key), key_hash=hash_api_key(key))
    session.add(record)
    session.flush()
    return NewApiKey(record=record, key=key)


def list_api_keys(session: Session, user_id: str | None, *, include_revoked: bool = True) -> Sequence[ApiKey]:
    """The keys of ``user_id``, newest first; ``None`` (an admin asking) lists everyone's."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return session.scalars(query).all()


def revoke_api_key(session: Session, key_id: str, *, user_id: str, is_admin: bool = False) -> ApiKey:
    """Revoke a key (idempotent). Only its owner or an admin may; anyone else gets FORBIDDEN."""
    record = session.get(ApiKey, key_id)
    if record is None:
        raise DataNotFoundError(f"no API key with id {key_id!r}")
    if record.user_id != user_id and not is_admin:
        raise PermissionDeniedError("this API key belongs to another user")
    if record.revoked_at is None:
        record.revoked_at = utc_now()
        session.flush()
    return record


def authenticate_api_key(session: Session, key: str, *, now: dt.datetime | None = None) -> User:
    """The active user owning ``key``; AuthenticationError for an unknown, revoked or disabled key."""
    if not key.startswith(API_KEY_PREFIX):
        raise AuthenticationError("invalid API key")
    row = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.key_hash == hash_api_key(key))
    ).one_or_none()
    if row is None:
        raise AuthenticationError("invalid API key")
    record, user = row
    if record.revoked_at is not None:
        raise AuthenticationError("this API key has been revoked")
    if not user.is_active:
        raise AuthenticationError("the account owning this API key is disabled")
    moment = now or utc_now()
    if record.last_used_at is None or moment - record.last_used_at >= TOUCH_INTERVAL:
        record.last_used_at = moment
        session.flush()
    return user
