"""Job events to the SSE streams of every worker, and their webhook event names.

A job event is raised in the process where it happens (the worker that accepted a job, or the one
that schedules and runs the jobs). That process records the webhook deliveries once and publishes
the event to the live hub's ``jobs`` topic; every worker relays that topic to its own SSE streams
(``pipelines.live.hub.relay``).
With ``TRADEFORGE_REDIS_URL`` the hub is Redis, so a stream on any worker sees every job; without
it the hub is in-process, which is all a single worker needs.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

__all__ = ["JOB_EVENTS_TOPIC", "JobStreams", "job_webhook_event"]

JOB_EVENTS_TOPIC = "jobs"
_QUEUE_SIZE = 1000


def job_webhook_event(event: dict[str, Any]) -> str | None:
    """The webhook event (either client style's name) a job event stands for, or None. The training
    platform's ``dl_training`` jobs have their own (``TrainingService.webhook``): started, every 10%
    of progress, completed, failed."""
    data = event["data"]
    kind = data.get("task_type")
    kind_events = {
        "training": "training.completed",
        "backtest": "backtest.completed",
        "walk_forward": "backtest.completed",
        "sweep": "backtest.completed",
        "batch_prediction": "prediction.completed",
        "prediction": "prediction.completed",
    }
    if event["type"] == "task_running" and kind == "training":
        return "training.started"
    if event["type"] == "task_completed":
        if kind == "dataset" and data.get("status") in ("completed", "failed"):
            return "dataset.processed"  # ready or failed: the payload's status says which
        if data.get("status") == "completed":
            return kind_events.get(str(kind))
        if data.get("status") == "failed" and kind == "training":
            return "training.failed"
    return None


class JobStreams:
    """Open SSE streams: each has a bounded asyncio queue filled thread-safely; a stream that falls
    behind by a whole queue loses events (it still has the heartbeat and can reconnect for a fresh
    ``initial_state``) rather than slowing the scheduler down."""

    def __init__(self) -> None:
        self._streams: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = {}
        self._next = 0
        self._lock = threading.Lock()

    def open(self) -> tuple[int, asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        with self._lock:
            token = self._next
            self._next += 1
            self._streams[token] = (asyncio.get_running_loop(), queue)
        return token, queue

    def close(self, token: int) -> None:
        with self._lock:
            self._streams.pop(token, None)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            streams = list(self._streams.values())
        for loop, queue in streams:
            try:
                loop.call_soon_threadsafe(_offer, queue, event)
            except RuntimeError:  # the loop is closed: the stream is going away
                continue

    def __len__(self) -> int:
        with self._lock:
            return len(self._streams)


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if not queue.full():
        queue.put_nowait(event)
