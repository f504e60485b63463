"""Who may change a registered model: its owner or an admin.

Training a new version (which may move the ``champion`` alias), reloading and deleting a model
through the API are changes. The owner is recorded twice: in the app database (``model_owners``,
the authority, claimed atomically by the first trainer of a new name) and as the registered model's
MLflow tag ``tradeforge.owner`` (so the MLflow UI shows it). A model with neither (registered
before owners were recorded, or trained by the CLI or Dagster, which act for no API user) is owned
by nobody: through the API only admins may change it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select

from pipelines.db import Database, Job, User, claim_model, drop_model_owner, model_owner
from pipelines.errors import ConflictError, DataNotFoundError, PermissionDeniedError
from pipelines.models.tracking import Tracker

__all__ = ["OWNER_TAG", "Actor", "ModelOwners", "job_actor"]

OWNER_TAG = "tradeforge.owner"


@dataclass(frozen=True, slots=True)
class Actor:
    """The API user asking for a change."""

    user_id: str
    is_admin: bool = False


class ModelOwners:
    """Ownership checks on one app database and one tracker (cheap to build per request)."""

    def __init__(self, database: Database, tracker: Tracker) -> None:
        self.database = database
        self.tracker = tracker

    def _row(self, name: str) -> str | None:
        with self.database.session() as session:
            return model_owner(session, name)

    def require(self, name: str, actor: Actor, action: str) -> None:
        """For a registered model: not found when none has the name, forbidden unless ``actor`` owns
        it or is an admin."""
        owner = self._row(name)
        tags = self.tracker.model_tags(name)
        if tags is None and owner is None:
            raise DataNotFoundError(f"no registered model named {name!r}")
        _allow(name, owner or (tags or {}).get(OWNER_TAG) or None, actor, action)

    def claim(self, name: str, actor: Actor) -> bool:
        """Before training a version of ``name``: forbidden unless ``actor`` may change it; a name
        nobody has registered nor claimed becomes ``actor``'s (one insert: one winner in a race).
        True when this call made the claim."""
        action = "train a new version of"
        owner, created = self._row(name), False
        if owner is None:
            tags = self.tracker.model_tags(name)
            if tags is not None:  # registered without an owner row
                _allow(name, tags.get(OWNER_TAG) or None, actor, action)
                return False
            with self.database.transaction() as session:
                owner, created = claim_model(session, name, actor.user_id)
        _allow(name, owner, actor, action)
        return created

    def release(self, name: str, actor: Actor) -> None:
        """Give up ``actor``'s claim on ``name`` when no model of that name got registered."""
        if self.tracker.model_tags(name) is None:
            with self.database.transaction() as session:
                drop_model_owner(session, name, actor.user_id)

    def record(self, name: str) -> None:
        """Copy the database's owner onto the registered model's MLflow tag (once it is registered)."""
        owner = self._row(name)
        tags = self.tracker.model_tags(name)
        if owner is not None and tags is not None and tags.get(OWNER_TAG) != owner:
            self.tracker.set_model_tag(name, OWNER_TAG, owner)

    def forget(self, name: str) -> None:
        """After the model was deleted: its name is free again."""
        with self.database.transaction() as session:
            drop_model_owner(session, name)

    @contextmanager
    def training(self, name: str, actor: Actor) -> Iterator[None]:
        """Around training (or queueing the training of) ``name``: claim first; on failure give back
        a claim this call made if nothing got registered; on success tag the registered model."""
        created = self.claim(name, actor)
        try:
            yield
        except ConflictError:
            # Another training of this name holds it (perhaps the same user's, on another worker,
            # relying on this very claim): the claim stays, or its model would register ownerless.
            raise
        except BaseException:
            if created:
                self.release(name, actor)
            raise
        self.record(name)

    def delete(self, name: str, actor: Actor) -> None:
        """Delete registered model ``name`` (its owner or an admin) and free the name."""
        self.require(name, actor, "delete")
        self.tracker.delete_model(name)
        self.forget(name)


def _allow(name: str, owner: str | None, actor: Actor, action: str) -> None:
    if actor.is_admin or (owner is not None and owner == actor.user_id):
        return
    whose = "owned by no user (only an admin may change it)" if owner is None else "owned by another user"
    raise PermissionDeniedError(f"model {name!r} is {whose}: you may not {action} it")


def job_actor(database: Database, job_id: str) -> Actor | None:
    """The user who queued job ``job_id``, with their current role; None for a job of no user."""
    with database.session() as session:
        user_id = session.scalar(select(Job.user_id).where(Job.id == job_id))
        if user_id is None:
            return None
        role = session.scalar(select(User.role).where(User.id == user_id))
    return Actor(user_id=user_id, is_admin=role == "admin")
