"""User rows. Validation of what a person types lives in ``pipelines.app.accounts``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.db.models import User, username_key
from pipelines.errors import DataNotFoundError

__all__ = [
    "UserState",
    "create_user",
    "find_user",
    "get_user",
    "get_user_by_email",
    "get_user_by_username",
    "list_users",
    "load_user_state",
]


@dataclass(frozen=True, slots=True)
class UserState:
    """What a request's authentication needs to know of its user, read afresh from the database."""

    id: str
    role: str
    tier: str
    is_active: bool
    token_version: int


def create_user(
    session: Session,
    *,
    username: str,
    password_hash: str,
    email: str | None = None,
    full_name: str | None = None,
    role: str = "user",
    tier: str = "free",
    is_active: bool = True,
) -> User:
    """Add a user and flush (the caller commits); unique violations surface as IntegrityError."""
    user = User(
        username=username,
        password_hash=password_hash,
        email=email,
        full_name=full_name,
        role=role,
        tier=tier,
        is_active=is_active,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise DataNotFoundError(f"no user with id {user_id!r}")
    return user


def get_user_by_username(session: Session, username: str) -> User | None:
    """The user of this name, compared case-insensitively ("Alice" finds "alice")."""
    return session.scalars(select(User).where(User.username_key == username_key(username))).one_or_none()


def find_user(session: Session, name_or_id: str) -> User:
    """The user with this username (any case), else with this id, for operators; DataNotFoundError
    otherwise."""
    user = get_user_by_username(session, name_or_id) or session.get(User, name_or_id)
    if user is None:
        raise DataNotFoundError(f"no user named {name_or_id!r}")
    return user


def load_user_state(session: Session, user_id: str) -> UserState | None:
    """The user's current state; None when no such user exists (any more)."""
    row = session.execute(
        select(User.id, User.role, User.tier, User.is_active, User.token_version).where(User.id == user_id)
    ).one_or_none()
    if row is None:
        return None
    return UserState(
        id=row.id, role=row.role, tier=row.tier, is_active=row.is_active, token_version=row.token_version
    )


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.lower())).one_or_none()


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.created_at, User.username)).all()
