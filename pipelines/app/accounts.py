"""Accounts: registration, password login and JWT token pairs (``/auth/*`` and ``/api/auth/login``).

Functions take a Session and flush; the caller owns the transaction (``Database.transaction()``).
Password hashing takes a fraction of a second by design: call these off the event loop.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.db.engine import Database
from pipelines.db.login_throttle import ThrottlePolicy, check_login_allowed, clear_failures, record_failure
from pipelines.db.models import ROLES, TIERS, User
from pipelines.db.types import isoformat_utc
from pipelines.db.users import UserState, create_user, get_user_by_email, get_user_by_username
from pipelines.errors import AuthenticationError, ConflictError, InvalidRequestError
from pipelines.security.password_strength import check_password_strength
from pipelines.security.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from pipelines.security.tokens import (
    TokenClaims,
    TokenPolicy,
    decode_token,
    issue_access_token,
    issue_refresh_token,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "USERNAME_PATTERN",
    "authenticate",
    "check_token_state",
    "issue_tokens",
    "login",
    "public_user",
    "refresh_tokens",
    "register_user",
    "validate_password",
    "validate_registration",
]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,64}$"  # matched whole (fullmatch)
_USERNAME = re.compile(USERNAME_PATTERN)
# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is not checked here.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_BAD_LOGIN = "invalid username or password"


def validate_password(password: str, user_inputs: tuple[str | None, ...] = ()) -> None:
    """A password fit to set (at registration or any change): its length, then its strength, with
    the account's own name and email counted as easy to guess (``user_inputs``)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequestError(
            f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, got {len(password)}"
        )
    check_password_strength(password, user_inputs)


def validate_registration(
    username: str,
    password: str,
    *,
    email: str | None = None,
    full_name: str | None = None,
    role: str = "user",
    tier: str = "free",
) -> str | None:
    """Check what a person typed (InvalidRequestError naming the problem); returns the clean email."""
    if not _USERNAME.fullmatch(username):
        raise InvalidRequestError(
            f"username {username!r} must be 3-64 characters of letters, digits, '_', '.' or '-'"
        )
    validate_password(password, (username, email, full_name))
    if full_name is not None and len(full_name) > 200:
        raise InvalidRequestError("full_name must be at most 200 characters")
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if tier not in TIERS:
        raise InvalidRequestError(f"tier must be one of {', '.join(TIERS)}, got {tier!r}")
    if email is None or not email.strip():
        return None
    clean = email.strip().lower()
    if len(clean) > 254 or not _EMAIL.fullmatch(clean):
        raise InvalidRequestError(f"email {email!r} is not an email address")
    return clean


def register_user(
    session: Session,
    username: str,
    password: str,
    *,
    email: str | None = None,
    full_name: str | None = None,
    role: str = "user",
    tier: str = "free",
) -> User:
    """Create an account (pass ``tier=settings.limits.default_tier``).

    ConflictError for a taken name or email.
    """
    clean_email = validate_registration(
        username, password, email=email, full_name=full_name, role=role, tier=tier
    )
    if get_user_by_username(session, username) is not None:
        raise ConflictError(f"username {username!r} is already taken")
    if clean_email is not None and get_user_by_email(session, clean_email) is not None:
        raise ConflictError(f"email {clean_email!r} is already registered")
    password_hash = hash_password(password)
    try:
        with session.begin_nested():  # a concurrent registration may win between check and insert
            return create_user(
                session,
                username=username,
                password_hash=password_hash,
                email=clean_email,
                full_name=full_name.strip() if full_name else None,
                role=role,
                tier=tier,
            )
    except IntegrityError:
        raise ConflictError(f"username {username!r} or its email is already registered") from None


def authenticate(session: Session, username: str, password: str) -> User:
    """The user whose password this is; one message for an unknown user and a wrong password."""
    user = get_user_by_username(session, username)
    if user is None:
        verify_password(DUMMY_HASH, password)  # same cost as a real check: no timing oracle
        raise AuthenticationError(_BAD_LOGIN)
    if not verify_password(user.password_hash, password):
        raise AuthenticationError(_BAD_LOGIN)
    if not user.is_active:
        raise AuthenticationError("this account is disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def login(database: Database, username: str, password: str, throttle: ThrottlePolicy) -> User:
    """``authenticate`` behind the per-account backoff (``pipelines.db.login_throttle``): a locked
    username is refused (RateLimitedError) before its password is even checked; each failure is
    recorded in its own transaction, so that it counts although the login fails."""
    with database.session() as session:  # a read: no write lock
        check_login_allowed(session, username)
    try:
        with database.transaction() as session:
            user = authenticate(session, username, password)
            clear_failures(session, username)
            return user
    except AuthenticationError:
        with database.transaction() as session:
            record_failure(session, username, throttle)
        raise


def check_token_state(claims: TokenClaims, state: UserState | None) -> UserState:
    """The user's current state if a token with these claims is still good: its user exists, is
    active, and has not had its tokens revoked since (disable, delete, role change) by a version bump."""
    if state is None:
        raise AuthenticationError("the account of this token no longer exists")
    if not state.is_active:
        raise AuthenticationError("this account is disabled")
    if claims.version != state.token_version:
        raise AuthenticationError("this token has been revoked; log in again")
    return state


def _access_answer(user: User, policy: TokenPolicy, now: dt.datetime | None) -> dict[str, Any]:
    token = issue_access_token(
        policy.secret,
        sub=user.id,
        role=user.role,
        tier=user.tier,
        ttl=policy.access_ttl,
        now=now,
        version=user.token_version,
    )
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(policy.access_ttl.total_seconds()),
    }


def issue_tokens(user: User, policy: TokenPolicy, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The login answer: access and refresh tokens, ``token_type`` and ``expires_in``."""
    moment = now or dt.datetime.now(dt.UTC)  # one issue time for both tokens
    refresh = issue_refresh_token(
        policy.secret,
        sub=user.id,
        role=user.role,
        tier=user.tier,
        ttl=policy.refresh_ttl,
        now=moment,
        version=user.token_version,
    )
    answer = _access_answer(user, policy, moment)
    return {"access_token": answer["access_token"], "refresh_token": refresh, **answer}


def refresh_tokens(
    session: Session, refresh_token: str, policy: TokenPolicy, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """A new access token for the refresh token's user, if still active (role and tier read afresh)."""
    claims = decode_token(refresh_token, policy.secret, "refresh")
    user = session.get(User, claims.sub)
    if user is None or not user.is_active or user.token_version != claims.version:
        raise AuthenticationError(
            "the account of this refresh token no longer exists, is disabled, or has had its tokens revoked"
        )
    return _access_answer(user, policy, now)


def public_user(user: User) -> dict[str, Any]:
    """What the API and the CLI show of a user (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "tier": user.tier,
        "is_active": user.is_active,
        "created_at": isoformat_utc(user.created_at),
    }
