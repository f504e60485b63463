"""User rows. Validation of what a person types lives in ``pipelines.accounts``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.db.models import User
from pipelines.errors import DataNotFoundError

__all__ = ["create_user", "get_user", "get_user_by_email", "get_user_by_username", "list_users"]


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
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.lower())).one_or_none()


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.created_at, User.username)).all()
