"""Per-account login backoff, kept in the app database so that every worker shares it.

After ``max_failures`` failed logins for one username (within ``window`` of each other), that
username is refused for ``base_delay``, doubled with each further failure up to ``max_delay``,
whatever the address and whether or not the password is right; a successful login clears it.
Failures are counted by username key for names that do not exist too, so the answers tell nothing
about which accounts exist.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.db.models import LoginThrottle, username_key
from pipelines.db.types import utc_now
from pipelines.errors import RateLimitedError
from pipelines.settings import Settings

__all__ = ["LoginLocked", "ThrottlePolicy", "check_login_allowed", "clear_failures", "record_failure"]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)
    base_delay: dt.timedelta = dt.timedelta(seconds=30)
    max_delay: dt.timedelta = dt.timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            max_failures=settings.auth.login_max_failures,
            window=dt.timedelta(seconds=settings.auth.login_failure_window_seconds),
            base_delay=dt.timedelta(seconds=settings.auth.login_backoff_seconds),
            max_delay=dt.timedelta(seconds=settings.auth.login_backoff_max_seconds),
        )

    def delay(self, failures: int) -> dt.timedelta:
        """The lock after the ``failures``-th failure in a row (zero below ``max_failures``)."""
        if failures < self.max_failures:
            return dt.timedelta(0)
        doublings = min(failures - self.max_failures, 20)
        delay: dt.timedelta = min(self.base_delay * (2**doublings), self.max_delay)
        return delay


class LoginLocked(RateLimitedError):
    """Too many failed logins for this username: refused for ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins for this account; try again in {retry_after} s")
        self.retry_after = retry_after
        self.details = {"retry_after": retry_after}


def check_login_allowed(session: Session, username: str, *, now: dt.datetime | None = None) -> None:
    """LoginLocked while the username is locked out."""
    row = session.get(LoginThrottle, username_key(username))
    moment = now or utc_now()
    if row is not None and row.locked_until is not None and row.locked_until > moment:
        raise LoginLocked(max(1, math.ceil((row.locked_until - moment).total_seconds())))


def record_failure(
    session: Session, username: str, policy: ThrottlePolicy, *, now: dt.datetime | None = None
) -> None:
    """Count a failed login (a streak older than the window starts over) and lock when due."""
    moment = now or utc_now()
    key = username_key(username)
    # Streaks that ended a window ago are over: drop them, so names tried once do not pile up.
    stale = moment - policy.window - policy.max_delay
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < stale))
    row = session.get(LoginThrottle, key, with_for_update=True)  # concurrent failures all count
    if row is None:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(username_key=key, failures=0, last_failure_at=moment))
        except IntegrityError:  # another worker's failure made the row first
            pass
        row = session.get_one(LoginThrottle, key, with_for_update=True)
    elif moment - max(row.last_failure_at, row.locked_until or row.last_failure_at) > policy.window:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = moment
    delay = policy.delay(row.failures)
    row.locked_until = moment + delay if delay else None
    session.flush()


def clear_failures(session: Session, username: str) -> None:
    """A successful login: the username's streak is over."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.username_key == username_key(username)))
