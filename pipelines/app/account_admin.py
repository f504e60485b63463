"""Operators' control over accounts: disable, enable, delete, change role.

Each change raises the user's token version, so every JWT issued before it stops working at the
next request (``check_token_state`` in ``pipelines.app.accounts``); API keys follow the user's
current state (a disabled or deleted user's keys are refused, a re-enabled user's work again, a
role change applies at once).
Workers cache a user's state briefly: the serving layer forgets it at once in its own process and
tells the others on the hub topic ``USER_CHANGES_TOPIC``; ``announce_user_change`` does the same
from another process (the CLI) when Redis is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.app.accounts import public_user
from pipelines.app.datasets import OPERATOR
from pipelines.datasets.files import DatasetFiles
from pipelines.db.dataset_models import Dataset
from pipelines.db.engine import Database
from pipelines.db.models import ROLES, User
from pipelines.db.users import find_user
from pipelines.errors import ConflictError, InvalidRequestError
from pipelines.jobs.queue import JobQueue
from pipelines.jobs.records import active_job_ids
from pipelines.live.redis_hub import RedisHub
from pipelines.settings import Settings

__all__ = [
    "USER_CHANGES_TOPIC",
    "announce_user_change",
    "delete_account",
    "delete_user",
    "set_active",
    "set_role",
]

log = logging.getLogger(__name__)

# Messages ``{"user_id": id or None}``: drop what is cached of that user (None: of everyone).
USER_CHANGES_TOPIC = "auth:revocations"


def _other_active_admins(session: Session, user: User) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.is_active.is_(True), User.id != user.id)
        )
        or 0
    )


def _keep_an_admin(session: Session, user: User, action: str) -> None:
    if user.is_admin and user.is_active and _other_active_admins(session, user) == 0:
        raise ConflictError(f"cannot {action} {user.username!r}: it is the last active admin")


def _revoke_tokens(session: Session, user: User) -> User:
    user.token_version += 1
    session.flush()
    return user


def set_active(session: Session, name_or_id: str, active: bool) -> User:
    """Enable or disable an account (DataNotFoundError for an unknown user)."""
    user = find_user(session, name_or_id)
    if not active:
        _keep_an_admin(session, user, "disable")
    user.is_active = active
    return _revoke_tokens(session, user)


def set_role(session: Session, name_or_id: str, role: str) -> User:
    """Give an account the role ``user`` or ``admin`` (InvalidRequestError for another role)."""
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    user = find_user(session, name_or_id)
    if role != "admin":
        _keep_an_admin(session, user, "demote")
    user.role = role
    return _revoke_tokens(session, user)


def delete_user(session: Session, name_or_id: str) -> User:
    """Delete an account with its API keys, webhooks and datasets rows (the database cascades)."""
    user = find_user(session, name_or_id)
    _keep_an_admin(session, user, "delete")
    session.delete(user)
    session.flush()
    return user


def delete_account(
    database: Database, jobs: JobQueue, files: DatasetFiles, name_or_id: str
) -> dict[str, Any]:
    """Delete an account and everything it leaves running or stored; the deleted user's public view.

    Its queued and running jobs are cancelled first, while their rows (a dataset's, say) still
    exist: through ``jobs``, which stops a running worker itself when it schedules, and otherwise
    marks the job for the scheduling server, which stops the worker at its next poll. Then the user's
    rows go (API keys, webhooks, datasets: the database cascades), jobs submitted meanwhile are
    cancelled too, and the datasets' files are removed.
    """
    with database.session() as session:
        user = find_user(session, name_or_id)
        _keep_an_admin(session, user, "delete")
        user_id = user.id
    _cancel_jobs(database, jobs, user_id)
    with database.transaction() as session:
        dataset_ids = list(session.scalars(select(Dataset.id).where(Dataset.user_id == user_id)))
        answer = public_user(delete_user(session, user_id))
    _cancel_jobs(database, jobs, user_id)
    for dataset_id in dataset_ids:
        files.remove(dataset_id)
    return answer


def _cancel_jobs(database: Database, jobs: JobQueue, user_id: str) -> None:
    with database.session() as session:
        job_ids = active_job_ids(session, user_id)
    for job_id in job_ids:
        with contextlib.suppress(ConflictError):  # it finished meanwhile
            jobs.cancel(job_id, OPERATOR)
        log.info("cancelled job %s of deleted user %s", job_id, user_id)


def announce_user_change(settings: Settings, user_id: str) -> bool:
    """Tell running API workers to forget what they cached of ``user_id`` (through Redis, when
    configured; without it they re-read the user within ``user_state_cache_seconds``)."""
    if not settings.redis_url:
        return False
    hub = RedisHub(settings.redis_url)
    message: dict[str, Any] = {"user_id": user_id}
    try:
        hub.publish(USER_CHANGES_TOPIC, message)
        return True
    except Exception as exc:  # the change is stored; workers see it when their cache expires
        log.warning("could not announce the change of user %s to the API workers (%s)", user_id, exc)
        return False
    finally:
        asyncio.run(hub.close())
