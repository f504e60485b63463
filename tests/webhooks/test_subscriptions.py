"""Registrations: validation, ownership, the delivery log, and the secret encrypted at rest."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select, text

from pipelines.db import Database, Webhook, WebhookDelivery
from pipelines.errors import ConflictError, DataNotFoundError, InvalidRequestError, PermissionDeniedError
from pipelines.security.secretbox import (
    EXCHANGE_CREDENTIALS,
    WEBHOOK_SECRETS,
    SecretBox,
    SecretDecryptionError,
)
from pipelines.settings import Settings
from pipelines.webhooks import EVENTS, WebhookSubscriptions, enqueue

URL = "http://127.0.0.1:9/hook"


def count(database: Database, model: type[Webhook] | type[WebhookDelivery]) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_create_generates_a_secret_once_and_stores_it_encrypted(
    database: Database, service: WebhookSubscriptions, box: SecretBox, users: dict[str, str]
) -> None:
    with database.transaction() as s:
        new = service.create(s, users["ann"], URL, ["training.completed", "prediction.completed"])
    assert new.secret.startswith("whsec_") and len(new.secret) > 40
    with database.session() as s:
        raw = s.execute(text("SELECT encrypted_secret, events, active FROM webhooks")).one()
        record = s.get(Webhook, new.record.id)
    assert record is not None and record.url == URL and record.user_id == users["ann"]
    assert record.events == ["training.completed", "prediction.completed"] and record.active
    assert new.secret not in raw[0] and raw[0] != new.secret
    assert box.decrypt(raw[0]) == new.secret == service.secret_of(record)
    with pytest.raises(SecretDecryptionError, match="encryption key has changed"):
        SecretBox("some-other-key-material", purpose=WEBHOOK_SECRETS).decrypt(raw[0])


def test_given_secret_is_kept_and_events_deduplicated(
    database: Database, service: WebhookSubscriptions, users: dict[str, str]
) -> None:
    with database.transaction() as s:
        new = service.create(
            s, users["ann"], URL, ["training.finished", "training.finished"], "your_webhook_secret"
        )
    assert new.secret == "your_webhook_secret" and new.record.events == ["training.finished"]


@pytest.mark.parametrize(
    ("url", "events", "secret", "match"),
    [
        (URL, ["training.done"], None, "unknown webhook event 'training.done'; the events are: prediction"),
        (URL, [], None, "at least one event"),
        (URL, "training.started", None, "a list"),
        (URL, [42], None, "must be a name"),
        (URL, ["training.started"], "short", "16-256 characters"),
        (URL, ["training.started"], " padded-secret-value ", "whitespace"),
        ("ftp://127.0.0.1/hook", ["training.started"], None, "http or https"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    database: Database,
    service: WebhookSubscriptions,
    users: dict[str, str],
    url: str,
    events: object,
    secret: str | None,
    match: str,
) -> None:
    with pytest.raises(InvalidRequestError, match=match), database.transaction() as s:
        service.create(s, users["ann"], url, events, secret)  # type: ignore[arg-type]
    assert count(database, Webhook) == 0


def test_every_listed_event_is_accepted(
    database: Database, service: WebhookSubscriptions, users: dict[str, str]
) -> None:
    with database.transaction() as s:
        assert service.create(s, users["ann"], URL, list(EVENTS)).record.events == list(EVENTS)


def test_loopback_refused_unless_the_service_allows_private_urls(
    database: Database, box: SecretBox, users: dict[str, str]
) -> None:
    strict = WebhookSubscriptions(box)
    with pytest.raises(InvalidRequestError, match="loopback"), database.transaction() as s:
        strict.create(s, users["ann"], URL, ["training.started"])
    assert count(database, Webhook) == 0


def test_unknown_user_and_duplicate_url(
    database: Database, service: WebhookSubscriptions, users: dict[str, str]
) -> None:
    with pytest.raises(DataNotFoundError, match="no user"), database.transaction() as s:
        service.create(s, "missing-user", URL, ["training.started"])
    with database.transaction() as s:
        service.create(s, users["ann"], URL, ["training.started"])
    with pytest.raises(ConflictError, match="already have a webhook"), database.transaction() as s:
        service.create(s, users["ann"], URL, ["training.failed"])
    with database.transaction() as s:  # another user may use the same URL
        service.create(s, users["bob"], URL, ["training.failed"])
    assert count(database, Webhook) == 2


def test_ownership_of_list_delete_and_deliveries(
    database: Database, service: WebhookSubscriptions, users: dict[str, str]
) -> None:
    ann, bob, root = users["ann"], users["bob"], users["root"]
    with database.transaction() as s:
        hook = service.create(s, ann, URL, ["backtest.completed"]).record
        service.create(s, bob, "http://127.0.0.1:9/bob", ["backtest.completed"])
        enqueue(s, "backtest.completed", {"backtest_id": "b1"}, ann)
    with database.session() as s:
        assert [w.id for w in service.list(s, ann)] == [hook.id]
        assert len(service.list(s, None)) == 2  # an admin sees everyone's
        log = service.deliveries(s, hook.id, user_id=ann)
        assert [(d.event, d.payload, d.status, d.attempts) for d in log] == [
            ("backtest.completed", {"backtest_id": "b1"}, "pending", 0)
        ]
        assert len(service.deliveries(s, hook.id, user_id=root, is_admin=True, status="pending")) == 1
        assert service.deliveries(s, hook.id, user_id=ann, status="delivered") == []
        with pytest.raises(PermissionDeniedError, match="another user"):
            service.deliveries(s, hook.id, user_id=bob)
        with pytest.raises(InvalidRequestError, match="unknown delivery status"):
            service.deliveries(s, hook.id, user_id=ann, status="lost")
        with pytest.raises(InvalidRequestError, match="limit"):
            service.deliveries(s, hook.id, user_id=ann, limit=0)
    with pytest.raises(PermissionDeniedError), database.transaction() as s:
        service.delete(s, hook.id, user_id=bob)
    with pytest.raises(DataNotFoundError, match="no webhook"), database.transaction() as s:
        service.delete(s, "no-such-id", user_id=ann)
    assert count(database, Webhook) == 2
    with database.transaction() as s:
        service.delete(s, hook.id, user_id=root, is_admin=True)
    assert count(database, Webhook) == 1 and count(database, WebhookDelivery) == 0  # the log goes with it


def test_dev_key_is_generated_once_private_and_the_setting_wins(settings: Settings) -> None:
    first = SecretBox.from_settings(settings, purpose=WEBHOOK_SECRETS)
    path = settings.encryption_key_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = first.encrypt("whsec_abc")
    again = SecretBox.from_settings(settings, purpose=WEBHOOK_SECRETS)
    assert again.decrypt(token) == "whsec_abc"  # the same key next start
    with pytest.raises(SecretDecryptionError):  # another purpose's key never opens it
        SecretBox.from_settings(settings, purpose=EXCHANGE_CREDENTIALS).decrypt(token)
    configured = SecretBox.from_settings(
        settings.model_copy(update={"encryption_key": "from-env"}), purpose=WEBHOOK_SECRETS
    )
    with pytest.raises(SecretDecryptionError):
        configured.decrypt(token)
    assert configured.decrypt(SecretBox("from-env", purpose=WEBHOOK_SECRETS).encrypt("x")) == "x"
