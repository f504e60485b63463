"""Each user's ledger version (``users.ledger_version``): every write to a user's trading ledger raises
it in the writer's transaction, before it writes (on PostgreSQL the UPDATE also takes the user's row
lock, so that writers of one user's ledger serialise there). A process that keeps a user's ledger in
memory between its own writes compares the version its own last write left with the one its next write
finds, and reloads the ledger when another writer moved it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from pipelines.db.models import User

__all__ = ["bump_ledgers", "claim_ledgers"]

_USERS = User.__table__
assert isinstance(_USERS, Table)
_BUMP = (
    update(_USERS)
    .where(_USERS.c.id.in_(bindparam("users", expanding=True)))
    .values(ledger_version=_USERS.c.ledger_version + 1)
)
_CLAIM = _BUMP.returning(_USERS.c.id, _USERS.c.ledger_version)


def bump_ledgers(session: Session, user_ids: Iterable[str]) -> None:
    """Raise the ledger version of each of ``user_ids`` (a write to their ledgers follows)."""
    users = sorted(set(user_ids))
    if users:
        session.connection().execute(_BUMP, {"users": users})


def claim_ledgers(session: Session, users: Iterable[str]) -> dict[str, int]:
    """Raise the ledger version of each of ``users`` in one statement (their rows locked on PostgreSQL
    until the transaction ends); each user's new version (a user not stored: absent). A holder whose
    last write left version ``v`` finds ``v + 1`` unless another writer wrote in between: the
    version-checked update ``SET version = version + 1 WHERE version = v`` of every user at once, the
    check read from what it returns."""
    wanted = sorted(set(users))
    if not wanted:
        return {}
    rows = session.connection().execute(_CLAIM, {"users": wanted})
    return {user: version for user, version in rows}
