"""Who owns each registered model: one row per model name, written once by its first API trainer.

The name is the primary key, so claiming a new name is an insert that at most one caller wins
(``claim_model``): two users racing for the same new name cannot both own it. Migration
``0006_model_owners`` creates exactly this schema.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipelines.db.models import Base
from pipelines.db.types import utc_now

__all__ = ["ModelOwner", "claim_model", "drop_model_owner", "model_owner"]


class ModelOwner(Base):
    """The user who owns registered model ``model_name`` (no foreign key: a deleted user's models
    keep their owner id, which no one can present again, so only admins can change them)."""

    __tablename__ = "model_owners"

    model_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


def model_owner(session: Session, model_name: str) -> str | None:
    """The owner's user id, or None when no row names the model."""
    return session.scalar(select(ModelOwner.user_id).where(ModelOwner.model_name == model_name))


def claim_model(session: Session, model_name: str, user_id: str) -> tuple[str, bool]:
    """Make ``user_id`` the owner of ``model_name`` unless someone owns it already (insert-if-absent).

    Returns (owner, created): the owner after the call, and whether this call created the row.
    """
    try:
        with session.begin_nested():
            session.add(ModelOwner(model_name=model_name, user_id=user_id))
        return user_id, True
    except IntegrityError:
        owner = model_owner(session, model_name)
        if owner is None:  # pragma: no cover - the conflicting row was deleted in between
            raise
        return owner, False


def drop_model_owner(session: Session, model_name: str, user_id: str | None = None) -> None:
    """Forget the owner of ``model_name`` (only when it is ``user_id``, if given)."""
    query = delete(ModelOwner).where(ModelOwner.model_name == model_name)
    if user_id is not None:
        query = query.where(ModelOwner.user_id == user_id)
    session.execute(query)
