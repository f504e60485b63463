"""Account state behind authentication (pipelines.app.account_admin, pipelines.db.login_throttle,
accounts.check_token_state), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pipelines.app import account_admin, accounts
from pipelines.db import Database, LoginThrottle, User, load_user_state
from pipelines.db.login_throttle import LoginLocked, ThrottlePolicy, check_login_allowed, record_failure
from pipelines.errors import AuthenticationError, ConflictError, DataNotFoundError, InvalidRequestError
from pipelines.security import TokenPolicy, decode_token
from pipelines.security import passwords as password_module

POLICY = TokenPolicy(secret="x" * 48)
PASSWORD = "s3cret-pass-phrase"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        password_module, "PasswordHasher", functools.partial(PasswordHasher, time_cost=1, memory_cost=1024)
    )


def _user(database: Database, name: str, role: str = "user") -> User:
    with database.transaction() as s:
        return accounts.register_user(s, name, PASSWORD, role=role)


def _claims(user: User) -> accounts.TokenClaims:
    return decode_token(accounts.issue_tokens(user, POLICY)["access_token"], POLICY.secret, "access")


def _state(database: Database, user_id: str) -> accounts.UserState | None:
    with database.session() as s:
        return load_user_state(s, user_id)


def test_each_change_revokes_the_users_tokens(database: Database) -> None:
    _user(database, "root", role="admin")
    ann = _user(database, "ann")
    claims = _claims(ann)
    assert accounts.check_token_state(claims, _state(database, ann.id)).role == "user"
    for change in (
        lambda s: account_admin.set_active(s, "ANN", False),
        lambda s: account_admin.set_active(s, "ann", True),
        lambda s: account_admin.set_role(s, ann.id, "admin"),  # by id too
    ):
        with database.transaction() as s:
            change(s)
        with pytest.raises(AuthenticationError, match=r"revoked|disabled"):
            accounts.check_token_state(claims, _state(database, ann.id))
        with database.session() as s:
            claims = _claims(s.get_one(User, ann.id))  # a new login works again (when active)
    assert accounts.check_token_state(claims, _state(database, ann.id)).role == "admin"
    with database.transaction() as s:
        account_admin.delete_user(s, "ann")
    assert _state(database, ann.id) is None
    with pytest.raises(AuthenticationError, match="no longer exists"):
        accounts.check_token_state(claims, None)


def test_bad_names_roles_and_the_last_admin_are_refused(database: Database) -> None:
    root = _user(database, "root", role="admin")
    with database.transaction() as s:
        with pytest.raises(DataNotFoundError, match="no user named 'nobody'"):
            account_admin.set_active(s, "nobody", False)
        with pytest.raises(InvalidRequestError, match="role must be one of user, admin"):
            account_admin.set_role(s, "root", "root")
        for change in (
            lambda: account_admin.set_active(s, "root", False),
            lambda: account_admin.set_role(s, "root", "user"),
            lambda: account_admin.delete_user(s, "root"),
        ):
            with pytest.raises(ConflictError, match="last active admin"):
                change()
    assert _state(database, root.id) == load_state_of(root)


def load_state_of(user: User) -> accounts.UserState:
    return accounts.UserState(user.id, user.role, user.tier, user.is_active, user.token_version)


def test_usernames_are_unique_whatever_their_case(database: Database) -> None:
    _user(database, "Alice")
    with pytest.raises(ConflictError, match="already taken"):
        _user(database, "ALICE")
    with pytest.raises(IntegrityError), database.transaction() as s:  # the database holds it too
        s.add(User(username="aLiCe", password_hash="x"))
    with database.transaction() as s:
        assert accounts.authenticate(s, "alice", PASSWORD).username == "Alice"


def test_weak_passwords_are_refused_naming_why(database: Database) -> None:
    for name, weak, why in (
        ("bobsmith", "password", "common password"),
        ("bobsmith", "aaaaaaaaaa", "Repeats"),
        ("bobsmith", "asdfghjkl;", "rows of keys"),
        # Strong enough for anyone else, but not as the account's own name.
        ("quixotic-zebra", "Quixotic-Zebra", "Add another word"),
    ):
        with pytest.raises(InvalidRequestError, match="password is too easy to guess") as caught:
            _user_with_password(database, name, weak)
        assert why in str(caught.value)
    _user_with_password(database, "bobsmith", "Quixotic-Zebra")


def _user_with_password(database: Database, name: str, password: str) -> None:
    with database.transaction() as s:
        accounts.register_user(s, name, password)


def test_login_backoff_doubles_and_counts_unknown_names_alike(database: Database) -> None:
    policy = ThrottlePolicy(max_failures=3, base_delay=dt.timedelta(seconds=10))
    for name in ("ann", "nobody"):  # an unknown name behaves exactly like a real one
        moment = T0
        locks = []
        for _ in range(5):
            with database.transaction() as s:
                check_login_allowed(s, name.upper(), now=moment)
                record_failure(s, name, policy, now=moment)
            with database.session() as s:
                row = s.get_one(LoginThrottle, name)
                locks.append(row.locked_until - moment if row.locked_until else None)
                if row.locked_until:
                    with pytest.raises(LoginLocked) as caught:
                        check_login_allowed(s, name, now=moment)
                    assert caught.value.retry_after == int(locks[-1].total_seconds())
                    moment = row.locked_until  # wait it out
        assert locks == [None, None, *(dt.timedelta(seconds=s) for s in (10, 20, 40))]
    # A streak that ended a window ago starts over (and stale rows are swept).
    with database.transaction() as s:
        record_failure(s, "ann", policy, now=moment + dt.timedelta(hours=2))
    with database.session() as s:
        assert s.scalars(select(LoginThrottle.username_key)).all() == ["ann"]
        assert s.get_one(LoginThrottle, "ann").failures == 1
