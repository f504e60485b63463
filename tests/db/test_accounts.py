"""Registration, password login and token pairs (pipelines.app.accounts) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from pipelines.app import accounts
from pipelines.db import Database, User, create_user
from pipelines.errors import AuthenticationError, ConflictError, InvalidRequestError
from pipelines.security import TokenPolicy, decode_token, hash_password, needs_rehash
from pipelines.security import passwords as password_module

POLICY = TokenPolicy(secret="x" * 48, access_ttl=dt.timedelta(minutes=30), refresh_ttl=dt.timedelta(days=7))
CHEAP = functools.partial(PasswordHasher, time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2 parameters keep these tests fast; the hashing itself is tested in tests/security."""
    monkeypatch.setattr(password_module, "PasswordHasher", CHEAP)


def register(
    database: Database, username: str = "ann", password: str = "s3cret-pass-phrase", **kw: str
) -> User:
    with database.transaction() as s:
        return accounts.register_user(s, username, password, **kw)


def user_count(database: Database) -> int:
    with database.session() as s:
        return int(s.scalar(select(func.count(User.id))) or 0)


def test_register_returns_a_public_user(database: Database) -> None:
    user = register(database, email=" Ann@Example.COM ", full_name=" Ann Lee ", tier="pro")
    shown = accounts.public_user(user)
    assert (
        shown["username"] == "ann" and shown["email"] == "ann@example.com" and shown["full_name"] == "Ann Lee"
    )
    assert (shown["role"], shown["tier"], shown["is_active"]) == ("user", "pro", True)
    assert shown["created_at"].endswith("Z") and "password_hash" not in shown
    assert user.password_hash.startswith("$argon2id$") and "s3cret-pass-phrase" not in user.password_hash


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "ab"}, "username 'ab' must be 3-64"),
        ({"username": "x" * 65}, "must be 3-64"),
        ({"username": "ann lee"}, "letters, digits"),
        ({"username": "ann/../x"}, "letters, digits"),
        ({"password": "short"}, "password must be 8-1024 characters, got 5"),
        ({"email": "not-an-email"}, "is not an email address"),
        ({"email": "a@b"}, "is not an email address"),
        ({"role": "root"}, "role must be one of user, admin"),
        ({"tier": "gold"}, "tier must be one of free, pro, enterprise"),
    ],
)
def test_register_validation(database: Database, kwargs: dict[str, str], message: str) -> None:
    args = {"username": "ann", "password": "s3cret-pass-phrase", **kwargs}
    with pytest.raises(InvalidRequestError, match=message):
        register(database, **args)
    assert user_count(database) == 0


def test_register_conflicts(database: Database) -> None:
    register(database, email="ann@example.com")
    with pytest.raises(ConflictError, match="username 'ann' is already taken"):
        register(database, email="other@example.com")
    with pytest.raises(ConflictError, match=r"email .ann@example\.com. is already registered"):
        register(database, "bob", email="ANN@example.com")
    assert user_count(database) == 1
    register(database, "bob")  # no email: any number of users may have none
    register(database, "cid")
    assert user_count(database) == 3


def test_authenticate(database: Database) -> None:
    ann = register(database)
    with database.transaction() as s:
        assert accounts.authenticate(s, "ann", "s3cret-pass-phrase").id == ann.id
        for username, password in (("ann", "wrong-pass"), ("nobody", "s3cret-pass-phrase")):
            with pytest.raises(AuthenticationError) as caught:
                accounts.authenticate(s, username, password)
            assert str(caught.value) == "invalid username or password"  # no hint which one was wrong
        s.get_one(User, ann.id).is_active = False
    with pytest.raises(AuthenticationError, match="disabled"), database.session() as s:
        accounts.authenticate(s, "ann", "s3cret-pass-phrase")


def test_login_upgrades_an_outdated_hash(database: Database) -> None:
    old_hash = hash_password(
        "s3cret-pass-phrase", PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    )
    assert needs_rehash(old_hash)
    with database.transaction() as s:
        user_id = create_user(s, username="old", password_hash=old_hash).id
    with database.transaction() as s:
        accounts.authenticate(s, "old", "s3cret-pass-phrase")
    with database.session() as s:
        new_hash = s.get_one(User, user_id).password_hash
    assert new_hash != old_hash and not needs_rehash(new_hash)
    with database.session() as s:
        assert accounts.authenticate(s, "old", "s3cret-pass-phrase").id == user_id


def test_token_pair_and_refresh(database: Database) -> None:
    ann = register(database, tier="pro")
    pair = accounts.issue_tokens(ann, POLICY)
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 1800
    claims = decode_token(pair["access_token"], POLICY.secret, "access")
    assert (claims.sub, claims.role, claims.tier) == (ann.id, "user", "pro")
    assert decode_token(pair["refresh_token"], POLICY.secret, "refresh").exp - claims.iat == dt.timedelta(
        days=7
    )

    with database.transaction() as s:
        s.get_one(User, ann.id).tier = "enterprise"  # an upgrade shows in the next access token
        refreshed = accounts.refresh_tokens(s, pair["refresh_token"], POLICY)
    assert set(refreshed) == {"access_token", "token_type", "expires_in"}
    assert decode_token(refreshed["access_token"], POLICY.secret, "access").tier == "enterprise"

    with database.session() as s:
        with pytest.raises(AuthenticationError, match="expected refresh"):
            accounts.refresh_tokens(s, pair["access_token"], POLICY)
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
        stale = accounts.issue_tokens(ann, POLICY, now=past)["refresh_token"]
        with pytest.raises(AuthenticationError, match="refresh token expired"):
            accounts.refresh_tokens(s, stale, POLICY)
    with database.transaction() as s:
        s.get_one(User, ann.id).is_active = False
    with pytest.raises(AuthenticationError, match="disabled"), database.session() as s:
        accounts.refresh_tokens(s, pair["refresh_token"], POLICY)
