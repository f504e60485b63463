"""A worker's short-lived cache of users' state (active, role, tier, token version), read on every
authenticated request; ``forget`` drops an entry at once when the user changes."""

from __future__ import annotations

import threading
import time

from pipelines.db import Database, UserState, load_user_state

__all__ = ["UserStateCache"]

_MAX_ENTRIES = 10_000


class UserStateCache:
    def __init__(self, database: Database, ttl_seconds: float) -> None:
        self.database = database
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[UserState | None, float]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> UserState | None:
        """The user's state (None: no such user), from the cache while fresh, else the database."""
        now = time.monotonic()
        hit = self._entries.get(user_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.database.session() as session:
            state = load_user_state(session, user_id)
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[user_id] = (state, now + self.ttl)
        return state

    def forget(self, user_id: str | None = None) -> None:
        """Drop one user's entry, or every entry (``None``)."""
        with self._lock:
            if user_id is None:
                self._entries.clear()
            else:
                self._entries.pop(user_id, None)
