"""Open WebSockets and SSE streams end when their user loses the access they were opened with.

A stream is authenticated when it opens, like any request; after that it is checked only when its
user changes (disabled, deleted, demoted, an API key revoked: ``user_changed``, called from this
worker's own change and from the hub's relay of every other worker's and the CLI's) and, for changes
nobody announced (the CLI without Redis), in a sweep over every open stream every
``stream_recheck_seconds``. The checks run off the event loop and never touch a stream's messages:
a stream only awaits its grant's ``ended`` future next to its own work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass

from pipelines.db import Database, authenticate_api_key
from pipelines.errors import AuthenticationError
from serving.context import Principal
from serving.usercache import UserStateCache

__all__ = ["StreamGrant", "StreamGuard"]

log = logging.getLogger("tradeforge.serving")


@dataclass(eq=False, slots=True)
class StreamGrant:
    """What one open stream was let in with; ``ended`` gets the reason once that access is gone."""

    user_id: str
    api_key: str | None  # the key it authenticated with (checked for revocation), None for a token
    needs_admin: bool
    ended: asyncio.Future[str]


class StreamGuard:
    """The open streams of one worker and the task that ends those whose user lost access."""

    def __init__(self, user_states: UserStateCache, database: Database, interval: float) -> None:
        self.user_states = user_states
        self.database = database
        self.interval = interval
        self._grants: set[StreamGrant] = set()  # touched on the event loop only
        self._pending: set[str | None] = set()  # changed users (None: everyone) not yet checked
        self._lock = threading.Lock()
        self._wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def open(self, principal: Principal, api_key: str | None, *, needs_admin: bool = False) -> StreamGrant:
        """Register a stream (on the event loop); ``close`` it when the stream ends."""
        grant = StreamGrant(
            user_id=principal.user_id,
            api_key=api_key if principal.via == "api_key" else None,
            needs_admin=needs_admin,
            ended=asyncio.get_running_loop().create_future(),
        )
        self._grants.add(grant)
        return grant

    def close(self, grant: StreamGrant) -> None:
        self._grants.discard(grant)

    def __len__(self) -> int:
        return len(self._grants)

    def user_changed(self, user_id: str | None) -> None:
        """Check ``user_id``'s streams (None: everyone's) at once; safe from any thread."""
        with self._lock:
            self._pending.add(user_id)
            wake = self._wake
        if wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the app is stopping
                wake[0].call_soon_threadsafe(wake[1].set)

    async def run(self) -> None:
        """Check changed users' streams as changes arrive, and every stream each ``interval``."""
        loop, wake = asyncio.get_running_loop(), asyncio.Event()
        with self._lock:
            self._wake = (loop, wake)
            if self._pending:
                wake.set()
        next_sweep = loop.time() + self.interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(0.0, next_sweep - loop.time()))
            wake.clear()
            with self._lock:
                users, self._pending = self._pending, set()
            if loop.time() >= next_sweep:
                users, next_sweep = {None}, loop.time() + self.interval
            if users:
                try:
                    await self.check(users)
                except Exception:  # one failed pass must not end the checks
                    log.exception("re-checking the open streams failed")

    async def check(self, users: set[str | None]) -> None:
        """End the streams of ``users`` (None among them: of everyone) whose access is gone."""
        everyone = None in users
        grants = [g for g in self._grants if not g.ended.done() and (everyone or g.user_id in users)]
        if not grants:
            return
        verdicts = await asyncio.to_thread(self._verdicts, grants)
        for grant, reason in verdicts:
            if reason is not None and not grant.ended.done():
                grant.ended.set_result(reason)

    def _verdicts(self, grants: list[StreamGrant]) -> list[tuple[StreamGrant, str | None]]:
        keys: dict[str, bool] = {}
        verdicts: list[tuple[StreamGrant, str | None]] = []
        for grant in grants:
            try:
                verdicts.append((grant, self._lost_access(grant, keys)))
            except Exception as exc:  # the database is unreachable: keep the stream, check again later
                log.warning("could not re-check a stream of user %s (%s)", grant.user_id, exc)
        return verdicts

    def _lost_access(self, grant: StreamGrant, keys: dict[str, bool]) -> str | None:
        """Why the stream must end now, or None while its user may keep it."""
        state = self.user_states.get(grant.user_id)
        if state is None:
            return "account deleted"
        if not state.is_active:
            return "account disabled"
        if grant.api_key is not None:
            if grant.api_key not in keys:
                keys[grant.api_key] = self._key_valid(grant.api_key)
            if not keys[grant.api_key]:
                return "API key revoked"
        if grant.needs_admin and state.role != "admin":
            return "admin role removed"
        return None

    def _key_valid(self, key: str) -> bool:
        try:
            with self.database.transaction() as session:
                authenticate_api_key(session, key)
        except AuthenticationError:
            return False
        return True
