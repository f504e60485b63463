"""Exchange API keys as the API manages them: list, store, update, deactivate (one transaction each).

Rows show hints of the key and secret, never the values; another user's key is "not found"; an
admin lists and changes every user's keys.
"""

from __future__ import annotations

from typing import Any

from pipelines.db import Database
from pipelines.db.exchange_keys import ExchangeKey
from pipelines.db.types import isoformat_utc
from pipelines.trading.credentials import ExchangeKeyStore, KeyChange
from pipelines.trading.exchanges import Credentials, venue_name

__all__ = ["ExchangeKeys", "key_row"]


def key_row(record: ExchangeKey) -> dict[str, Any]:
    return {
        "id": record.id,
        "provider_id": record.provider_id,
        "provider_name": venue_name(record.provider_id),
        "environment": record.environment,
        "label": record.label,
        "api_key_hint": record.key_hint,
        "api_secret_hint": record.secret_hint,
        "created_at": isoformat_utc(record.created_at),
    }


class ExchangeKeys:
    def __init__(self, database: Database, store: ExchangeKeyStore) -> None:
        self._database = database
        self.store = store

    def list(self, user_id: str | None) -> list[dict[str, Any]]:
        """The user's active keys (``None``: every user's, for an admin)."""
        with self._database.session() as session:
            return [key_row(r) for r in self.store.list(session, user_id)]

    def create(
        self,
        user_id: str,
        *,
        provider_id: str,
        environment: str | None,
        api_key: str,
        api_secret: str,
        label: str,
    ) -> str:
        """Store a new key; its id."""
        with self._database.transaction() as session:
            record = self.store.create(
                session,
                user_id,
                provider_id=provider_id,
                environment=environment,
                credentials=Credentials(api_key, api_secret),
                label=label,
            )
            return record.id

    def update(self, key_id: str, change: KeyChange, *, user_id: str, is_admin: bool) -> None:
        with self._database.transaction() as session:
            self.store.update(session, key_id, change, user_id=user_id, is_admin=is_admin)

    def delete(self, key_id: str, *, user_id: str, is_admin: bool) -> None:
        with self._database.transaction() as session:
            self.store.deactivate(session, key_id, user_id=user_id, is_admin=is_admin)
