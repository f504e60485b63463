"""Users' exchange credentials: stored encrypted, shown as hints, found again for the brokers.

Every method takes the caller's session (one transaction per use case). A user reaches only their
own keys (another user's key is "not found"); an admin reaches every key. A deleted key is
deactivated: never listed nor used again. Nothing here puts a key or a secret in a message.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.db.exchange_keys import ExchangeKey
from pipelines.db.types import utc_now
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError
from pipelines.security.secretbox import SecretBox
from pipelines.trading.exchanges.models import Credentials
from pipelines.trading.exchanges.venues import check_venue

__all__ = ["MAX_KEY_LENGTH", "MAX_LABEL_LENGTH", "MAX_SECRET_LENGTH", "ExchangeKeyStore", "KeyChange", "hint"]

MAX_KEY_LENGTH = 512
MAX_SECRET_LENGTH = 4096
MAX_LABEL_LENGTH = 100


def hint(value: str) -> str:
    """``abcd...1234``: the first and last 4 characters, fewer for a short value (at most half of
    it is shown), never the whole value."""
    shown = min(4, len(value) // 4)
    return f"{value[:shown]}...{value[-shown:]}" if shown else "..."


def _credential(name: str, value: str, limit: int) -> str:
    """``value`` when it can be a credential; the error names the field, never the value."""
    if not value:
        raise InvalidRequestError(f"{name} is empty")
    if len(value) > limit:
        raise InvalidRequestError(f"{name} is longer than {limit} characters")
    if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        raise InvalidRequestError(f"{name} must be printable ASCII characters without spaces")
    return value


def _label(value: str) -> str:
    label = value.strip()
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidRequestError(f"label is longer than {MAX_LABEL_LENGTH} characters")
    if not label.isprintable():
        raise InvalidRequestError("label must not hold control characters")
    return label


@dataclass(frozen=True, slots=True)
class KeyChange:
    """An update: each field None keeps the stored value."""

    api_key: str | None = None
    api_secret: str | None = None
    label: str | None = None

    def __repr__(self) -> str:
        return f"KeyChange(label={self.label!r})"


class ExchangeKeyStore:
    """The ``exchange_keys`` table through the exchange-credentials ``SecretBox``."""

    def __init__(self, box: SecretBox, *, max_per_user: int = 20) -> None:
        self._box = box
        self._max_per_user = max_per_user

    def __repr__(self) -> str:
        return "ExchangeKeyStore(...)"

    def create(
        self,
        session: Session,
        user_id: str,
        *,
        provider_id: str,
        environment: str | None,
        credentials: Credentials,
        label: str = "",
    ) -> ExchangeKey:
        venue, env = check_venue(provider_id, environment)
        key = _credential("api_key", credentials.api_key, MAX_KEY_LENGTH)
        secret = _credential("api_secret", credentials.api_secret, MAX_SECRET_LENGTH)
        name = _label(label)
        active = session.scalar(
            select(func.count()).where(ExchangeKey.user_id == user_id, ExchangeKey.active.is_(True))
        )
        if (active or 0) >= self._max_per_user:
            raise ConflictError(
                f"at most {self._max_per_user} active exchange keys per user: delete one first"
            )
        record = ExchangeKey(
            user_id=user_id,
            provider_id=venue,
            environment=env,
            label=name,
            encrypted_key=self._box.encrypt(key),
            encrypted_secret=self._box.encrypt(secret),
            key_hint=hint(key),
            secret_hint=hint(secret),
        )
        session.add(record)
        session.flush()
        return record

    def get(self, session: Session, key_id: str, *, user_id: str, is_admin: bool = False) -> ExchangeKey:
        """An active key of the user (any user's for an admin); DataNotFoundError otherwise."""
        record = session.get(ExchangeKey, key_id)
        if record is None or not record.active or (record.user_id != user_id and not is_admin):
            raise DataNotFoundError("API key not found")
        return record

    def update(
        self, session: Session, key_id: str, change: KeyChange, *, user_id: str, is_admin: bool = False
    ) -> ExchangeKey:
        record = self.get(session, key_id, user_id=user_id, is_admin=is_admin)
        key = None if change.api_key is None else _credential("api_key", change.api_key, MAX_KEY_LENGTH)
        secret = (
            None
            if change.api_secret is None
            else _credential("api_secret", change.api_secret, MAX_SECRET_LENGTH)
        )
        label = None if change.label is None else _label(change.label)
        if key is not None:
            record.encrypted_key, record.key_hint = self._box.encrypt(key), hint(key)
        if secret is not None:
            record.encrypted_secret, record.secret_hint = self._box.encrypt(secret), hint(secret)
        if label is not None:
            record.label = label
        record.updated_at = utc_now()
        session.flush()
        return record

    def deactivate(self, session: Session, key_id: str, *, user_id: str, is_admin: bool = False) -> None:
        record = self.get(session, key_id, user_id=user_id, is_admin=is_admin)
        now = utc_now()
        record.active, record.deactivated_at, record.updated_at = False, now, now
        session.flush()

    def list(self, session: Session, user_id: str | None, *, limit: int = 1000) -> list[ExchangeKey]:
        """Active keys, oldest first: the user's, or everyone's when ``user_id`` is None (an admin)."""
        query = select(ExchangeKey).where(ExchangeKey.active.is_(True))
        if user_id is not None:
            query = query.where(ExchangeKey.user_id == user_id)
        query = query.order_by(ExchangeKey.created_at, ExchangeKey.id).limit(limit)
        return list(session.scalars(query))

    def newest(
        self, session: Session, user_id: str, provider_id: str, environment: str | None = None
    ) -> ExchangeKey | None:
        """The user's newest active key of a venue (of one environment, or of any)."""
        query = select(ExchangeKey).where(
            ExchangeKey.user_id == user_id,
            ExchangeKey.provider_id == provider_id,
            ExchangeKey.active.is_(True),
        )
        if environment is not None:
            query = query.where(ExchangeKey.environment == environment)
        return session.scalars(query.order_by(ExchangeKey.created_at.desc(), ExchangeKey.id.desc())).first()

    def credentials(self, record: ExchangeKey) -> Credentials:
        """The decrypted pair of a key (SecretDecryptionError when the encryption key changed)."""
        return Credentials(
            self._box.decrypt(record.encrypted_key), self._box.decrypt(record.encrypted_secret)
        )

    def credentials_for(
        self, session: Session, user_id: str, provider_id: str, environment: str
    ) -> Credentials | None:
        """What a broker signs with: the user's newest active key of the venue and environment,
        decrypted, as ``(api_key, api_secret)``; None when the user has none."""
        record = self.newest(session, user_id, provider_id, environment)
        return None if record is None else self.credentials(record)
