"""A thread-safe publish/subscribe of job events.

Events are dicts in the task-event stream's (SSE) shape, ``{"type": ..., "data": {...}}``, plus ``user_id``
(the job's owner) so that a front end can show a user only their own jobs. Callbacks run on the
publishing thread (the queue's scheduler, or a thread that submits or cancels): they must be quick
and must not block; an asyncio consumer hands the event over with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["EventBus", "JobEvent", "Subscriber"]

log = logging.getLogger(__name__)

JobEvent = dict[str, Any]
Subscriber = Callable[[JobEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[int, Subscriber] = {}
        self._next = 0
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Deliver every later event to ``callback``; returns the function that unsubscribes it."""
        with self._lock:
            token = self._next
            self._next += 1
            self._subscribers[token] = callback

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers.pop(token, None)

        return unsubscribe

    def publish(self, event_type: str, data: dict[str, Any], user_id: str | None) -> None:
        event: JobEvent = {"type": event_type, "data": data, "user_id": user_id}
        with self._lock:
            subscribers = list(self._subscribers.values())
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # one broken subscriber must not stop the queue or the others
                log.exception("job event subscriber %r failed on %s", callback, event_type)

    def completed(
        self, job_id: str, kind: str, owner: str | None, status: str, result: Any, error: str | None
    ) -> None:
        """Publish ``task_completed``: the job's result when it completed, else its error."""
        data: dict[str, Any] = {"task_id": job_id, "task_type": kind, "status": status}
        if status == "completed":
            data["result"] = result
        else:
            data["error"] = error
        self.publish("task_completed", data, owner)

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscribers)
