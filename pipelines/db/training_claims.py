"""Which models are being trained right now, held in the app database so that every thread, worker
and process of a home sees the same answer.

A training holds one row per model name (the primary key, so at most one insert wins). The row
carries a random token that only its holder knows and an expiry time that the holder's heartbeat
keeps pushing forward; a holder killed without releasing leaves a row that expires, and the next
claimer takes it over (an update that matches only an expired row, so two claimers of a stale row
cannot both win). Migration ``0007_training_claims`` creates exactly this schema.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipelines.db.engine import Database
from pipelines.db.models import Base
from pipelines.db.types import UTCDateTime, utc_now
from pipelines.errors import ConflictError

__all__ = [
    "TrainingClaim",
    "TrainingGuard",
    "active_trainings",
    "claim_training",
    "release_training",
    "renew_training",
]

log = logging.getLogger(__name__)


class TrainingClaim(Base):
    """A model that a process is training until ``expires_at`` (renewed by its heartbeat)."""

    __tablename__ = "training_claims"

    model_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    token: Mapped[str] = mapped_column(String(36))
    holder: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


def claim_training(session: Session, model_name: str, token: str, holder: str, ttl: dt.timedelta) -> bool:
    """Claim ``model_name`` for the holder of ``token`` until now + ``ttl``: True when this call got
    it (a new row, or a takeover of an expired one), False while another claim is live."""
    now = utc_now()
    try:
        with session.begin_nested():
            session.add(
                TrainingClaim(
                    model_name=model_name, token=token, holder=holder, claimed_at=now, expires_at=now + ttl
                )
            )
        return True
    except IntegrityError:
        taken = session.execute(
            update(TrainingClaim)
            .where(TrainingClaim.model_name == model_name, TrainingClaim.expires_at <= now)
            .values(token=token, holder=holder, claimed_at=now, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(taken, "rowcount", 0))


def renew_training(session: Session, model_name: str, token: str, ttl: dt.timedelta) -> bool:
    """Push the claim's expiry to now + ``ttl``; False when the token no longer holds it."""
    renewed = session.execute(
        update(TrainingClaim)
        .where(TrainingClaim.model_name == model_name, TrainingClaim.token == token)
        .values(expires_at=utc_now() + ttl)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(renewed, "rowcount", 0))


def release_training(session: Session, model_name: str, token: str) -> None:
    """Drop the claim if ``token`` still holds it (a claim taken over after expiry is left alone)."""
    session.execute(
        delete(TrainingClaim).where(TrainingClaim.model_name == model_name, TrainingClaim.token == token)
    )


def active_trainings(session: Session) -> frozenset[str]:
    """The names of models with a live (unexpired) claim."""
    rows = session.scalars(select(TrainingClaim.model_name).where(TrainingClaim.expires_at > utc_now()))
    return frozenset(rows)


class TrainingGuard:
    """Claims a model for one training at a time across every worker of a database.

    ``hold(name)`` claims the name (``ConflictError`` while another live claim holds it), renews the
    claim from a heartbeat thread every third of ``ttl_seconds`` while the training runs, and
    releases it when the block ends, on success or failure. A process killed mid-training stops
    renewing, so its claim expires after at most ``ttl_seconds``.
    """

    def __init__(self, database: Database, ttl_seconds: float = 60.0) -> None:
        self._database = database
        self._ttl = dt.timedelta(seconds=ttl_seconds)
        self._holder = f"{socket.gethostname()}:{os.getpid()}"[:128]

    def active(self) -> frozenset[str]:
        """The models that some worker is training now."""
        with self._database.session() as session:
            return active_trainings(session)

    @contextmanager
    def hold(self, model_name: str) -> Iterator[None]:
        token = str(uuid.uuid4())
        with self._database.transaction() as session:
            claimed = claim_training(session, model_name, token, self._holder, self._ttl)
        if not claimed:
            raise ConflictError(f"model {model_name!r} is being trained already")
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(model_name, token, stop), name="training-claim", daemon=True
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            with self._database.transaction() as session:
                release_training(session, model_name, token)

    def _heartbeat(self, model_name: str, token: str, stop: threading.Event) -> None:
        while not stop.wait(self._ttl.total_seconds() / 3):
            try:
                with self._database.transaction() as session:
                    if not renew_training(session, model_name, token, self._ttl):
                        log.warning("the training claim of %s was taken over after it expired", model_name)
                        return
            except Exception as exc:  # the database is briefly away: the next beat tries again
                log.warning("could not renew the training claim of %s (%s)", model_name, exc)
