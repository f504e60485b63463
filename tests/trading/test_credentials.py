"""The exchange-key store: encrypted at rest under its own purpose, hints, ownership, soft delete,
and ``credentials_for``, what the brokers sign with."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pipelines.db import Database
from pipelines.errors import DataNotFoundError
from pipelines.security.secretbox import (
    EXCHANGE_CREDENTIALS,
    WEBHOOK_SECRETS,
    SecretBox,
    SecretDecryptionError,
)
from pipelines.trading.credentials import ExchangeKeyStore, KeyChange, hint
from pipelines.trading.exchanges import Credentials

MATERIAL = "test-encryption-key-material"


def test_hints_never_show_a_whole_value() -> None:
    assert hint("abcdefghijkl1234") == "abcd...1234"
    assert hint("abcdefgh") == "ab...gh"
    assert hint("abcd") == "a...d"
    assert hint("abc") == "..."
    for value in ("k", "kk", "abcdefgh", "x" * 64):
        assert hint(value) != value and len(hint(value).replace("...", "")) <= len(value) // 2


def test_credentials_for_the_newest_active_key_of_the_venue(
    database: Database, users: dict[str, str]
) -> None:
    store = ExchangeKeyStore(SecretBox(MATERIAL, purpose=EXCHANGE_CREDENTIALS))
    ann, bob = users["ann"], users["bob"]
    with database.transaction() as s:
        assert store.credentials_for(s, ann, "binance", "testnet") is None
        old = store.create(
            s,
            ann,
            provider_id="binance",
            environment="testnet",
            credentials=Credentials("k-old-1", "s-old-1"),
        )
        new = store.create(
            s,
            ann,
            provider_id="binance",
            environment="testnet",
            credentials=Credentials("k-new-2", "s-new-2"),
        )
        store.create(
            s, ann, provider_id="binance", environment="live", credentials=Credentials("k-live-3", "s-live-3")
        )
        old_id, new_id = old.id, new.id
    with database.session() as s:
        assert store.credentials_for(s, ann, "binance", "testnet") == ("k-new-2", "s-new-2")
        assert store.credentials_for(s, ann, "binance", "live") == ("k-live-3", "s-live-3")
        assert store.credentials_for(s, bob, "binance", "testnet") is None
        rows = s.execute(text("SELECT encrypted_key, encrypted_secret FROM exchange_keys")).all()
        raw = " ".join(value for row in rows for value in row)
        assert "k-new-2" not in raw and "s-new-2" not in raw
        token = store.get(s, new_id, user_id=ann).encrypted_key
        assert store.credentials(store.get(s, new_id, user_id=ann)).api_key == "k-new-2"
        with pytest.raises(SecretDecryptionError):  # the webhook purpose's key does not open them
            SecretBox(MATERIAL, purpose=WEBHOOK_SECRETS).decrypt(token)
    with database.transaction() as s:
        with pytest.raises(DataNotFoundError):
            store.deactivate(s, new_id, user_id=bob)
        store.deactivate(s, new_id, user_id=ann)
        store.update(s, old_id, KeyChange(api_secret="s-rotated-4"), user_id=ann)
    with database.session() as s:
        assert store.credentials_for(s, ann, "binance", "testnet") == ("k-old-1", "s-rotated-4")
        listed = store.list(s, ann)
        assert len(listed) == 2 and listed[0].id == old_id and new_id not in {r.id for r in listed}
        assert len(store.list(s, None)) == 2 and store.list(s, bob) == []
