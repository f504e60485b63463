"""Webhook fixtures: the migrated app database (SQLite and PostgreSQL), users, a key box, a receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.db import Database, User
from pipelines.security.secretbox import WEBHOOK_SECRETS, SecretBox
from pipelines.webhooks import WebhookSubscriptions
from tests.db.support import database, fresh_pg_url, pg_database, pg_server
from tests.webhooks.support import Receiver, running_receiver

__all__ = ["box", "database", "fresh_pg_url", "pg_database", "pg_server", "receiver", "service", "users"]


@pytest.fixture
def box() -> SecretBox:
    return SecretBox("test-encryption-key-material", purpose=WEBHOOK_SECRETS)


@pytest.fixture
def service(box: SecretBox) -> WebhookSubscriptions:
    """Loopback allowed: the tests' receivers listen on 127.0.0.1."""
    return WebhookSubscriptions(box, allow_private_urls=True)


@pytest.fixture
def users(database: Database) -> dict[str, str]:
    """Two users and an admin; their ids by name."""
    with database.transaction() as s:
        rows = [
            User(username="ann", password_hash="x"),
            User(username="bob", password_hash="x"),
            User(username="root", password_hash="x", role="admin"),
        ]
        s.add_all(rows)
        s.flush()
        return {row.username: row.id for row in rows}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r
