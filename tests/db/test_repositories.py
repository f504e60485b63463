"""Users, API keys and log repositories on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from pipelines.db import (
    ApiKey,
    Database,
    ErrorLog,
    PredictionLog,
    RequestLog,
    User,
    add_many,
    authenticate_api_key,
    create_api_key,
    create_user,
    get_user,
    get_user_by_username,
    list_api_keys,
    list_users,
    recent_errors,
    recent_predictions,
    recent_requests,
    revoke_api_key,
)
from pipelines.errors import (
    AuthenticationError,
    ConflictError,
    DataNotFoundError,
    InvalidRequestError,
    PermissionDeniedError,
)
from pipelines.security.api_keys import hash_api_key

T0 = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)


def make_users(database: Database) -> tuple[User, User, User]:
    with database.transaction() as s:
        ann = create_user(s, username="ann", password_hash="h1", email="ann@example.com")
        bob = create_user(s, username="bob", password_hash="h2", tier="pro")
        root = create_user(s, username="root", password_hash="h3", role="admin")
    return ann, bob, root


def test_users_create_get_list(database: Database) -> None:
    ann, bob, _ = make_users(database)
    with database.session() as s:
        assert get_user(s, ann.id).username == "ann"
        assert get_user_by_username(s, "bob").tier == "pro"  # type: ignore[union-attr]
        assert get_user_by_username(s, "nobody") is None
        assert [u.username for u in list_users(s)] == ["ann", "bob", "root"]
        assert len(ann.id) == 36 and ann.id != bob.id and ann.is_active and not ann.is_admin
        with pytest.raises(DataNotFoundError, match="no user"):
            get_user(s, "missing")


def test_api_key_is_shown_once_and_stored_hashed(database: Database) -> None:
    ann, _, _ = make_users(database)
    with database.transaction() as s, pytest.raises(InvalidRequestError, match="whitespace"):
        create_api_key(s, ann.id, "  laptop ")  # a name is taken as typed, never silently trimmed
    with database.transaction() as s:
        new = create_api_key(s, ann.id, "laptop")
    assert new.key.startswith("tf_") and len(new.key) == 46
    assert new.record.name == "laptop" and new.record.prefix == new.key[:11]
    assert new.record.key_hash == hash_api_key(new.key)
    with database.session() as s:
        stored = s.scalars(select(ApiKey)).one()
        assert new.key not in {str(getattr(stored, c.key)) for c in ApiKey.__mapper__.column_attrs}
        assert stored.last_used_at is None and stored.revoked_at is None


def test_api_key_names_are_validated_and_unique_among_active_keys(database: Database) -> None:
    ann, bob, _ = make_users(database)
    with database.transaction() as s:
        first = create_api_key(s, ann.id, "ci")
        create_api_key(s, bob.id, "ci")  # another user may reuse the name
    with pytest.raises(ConflictError, match="'ci'"), database.transaction() as s:
        create_api_key(s, ann.id, "ci")
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(InvalidRequestError, match="name"), database.transaction() as s:
            create_api_key(s, ann.id, bad)
    with pytest.raises(DataNotFoundError), database.transaction() as s:
        create_api_key(s, "no-such-user", "ci")
    with database.transaction() as s:
        revoke_api_key(s, first.record.id, user_id=ann.id)
        create_api_key(s, ann.id, "ci")  # free again once revoked
    with database.session() as s:
        assert s.scalar(select(func.count(ApiKey.id))) == 3


def test_list_keys_scoped_to_owner_admin_sees_all(database: Database) -> None:
    ann, bob, _ = make_users(database)
    with database.transaction() as s:
        a1 = create_api_key(s, ann.id, "a1")
        create_api_key(s, bob.id, "b1")
        revoke_api_key(s, a1.record.id, user_id=ann.id)
    with database.session() as s:
        assert {k.name for k in list_api_keys(s, ann.id)} == {"a1"}
        assert list_api_keys(s, ann.id, include_revoked=False) == []
        assert {k.name for k in list_api_keys(s, None)} == {"a1", "b1"}


def test_revoke_owner_admin_and_strangers(database: Database) -> None:
    ann, bob, root = make_users(database)
    with database.transaction() as s:
        key_a = create_api_key(s, ann.id, "a")
        key_b = create_api_key(s, bob.id, "b")
    with pytest.raises(PermissionDeniedError, match="another user"), database.transaction() as s:
        revoke_api_key(s, key_a.record.id, user_id=bob.id)
    with pytest.raises(DataNotFoundError, match="no API key"), database.transaction() as s:
        revoke_api_key(s, "nope", user_id=ann.id)
    with database.session() as s:
        assert authenticate_api_key(s, key_a.key).id == ann.id  # the failed revoke changed nothing
    with database.transaction() as s:
        first = revoke_api_key(s, key_b.record.id, user_id=root.id, is_admin=True).revoked_at
    with database.transaction() as s:
        assert revoke_api_key(s, key_b.record.id, user_id=bob.id).revoked_at == first  # idempotent
    with pytest.raises(AuthenticationError, match="revoked"), database.session() as s:
        authenticate_api_key(s, key_b.key)


def test_authenticate_touches_last_used_at_at_most_once_a_minute(database: Database) -> None:
    ann, _, _ = make_users(database)
    with database.transaction() as s:
        new = create_api_key(s, ann.id, "a")
    for now, expected in (
        (T0, T0),
        (T0 + dt.timedelta(seconds=30), T0),
        (T0 + dt.timedelta(minutes=2), None),
    ):
        with database.transaction() as s:
            assert authenticate_api_key(s, new.key, now=now).username == "ann"
        with database.session() as s:
            assert s.get_one(ApiKey, new.record.id).last_used_at == (expected or now)


def test_authenticate_rejects_unknown_malformed_and_disabled(database: Database) -> None:
    ann, _, _ = make_users(database)
    with database.transaction() as s:
        new = create_api_key(s, ann.id, "a")
    with database.session() as s:
        for bad in ("tf_" + "A" * 43, "not-a-key", "", new.key + "x"):
            with pytest.raises(AuthenticationError, match="invalid API key"):
                authenticate_api_key(s, bad)
    with database.transaction() as s:
        s.get_one(User, ann.id).is_active = False
    with pytest.raises(AuthenticationError, match="disabled"), database.session() as s:
        authenticate_api_key(s, new.key)


def _rows(user_id: str | None, minute: int) -> list[PredictionLog | RequestLog | ErrorLog]:
    at = T0 + dt.timedelta(minutes=minute)
    return [
        PredictionLog(user_id=user_id, endpoint="/api/v1/predict", model_name="m", created_at=at),
        RequestLog(
            user_id=user_id, method="GET", route="/x", status_code=200, duration_ms=1.0, created_at=at
        ),
        ErrorLog(user_id=user_id, status_code=404, code="NOT_FOUND", message="m", created_at=at),
    ]


def test_logs_add_many_and_recent_scoped(database: Database) -> None:
    ann, bob, _ = make_users(database)
    with database.transaction() as s:
        assert add_many(s, [r for i in range(5) for r in _rows(ann.id if i % 2 else bob.id, i)]) == 15
        add_many(s, _rows(None, 10))  # anonymous
    with database.session() as s:
        for recent in (recent_predictions, recent_requests, recent_errors):
            everyone = recent(s, 100, None)
            assert [r.created_at.minute for r in everyone] == [10, 4, 3, 2, 1, 0]
            assert [r.created_at.minute for r in recent(s, 2, None)] == [10, 4]
            assert [r.created_at.minute for r in recent(s, 100, ann.id)] == [3, 1]
            assert all(r.user_id == bob.id for r in recent(s, 100, bob.id))
        for limit in (0, -1, 1001):
            with pytest.raises(InvalidRequestError, match="limit"):
                recent_predictions(s, limit)
