"""``RedisHub``: the hub of ``pipelines.live.hub`` across worker processes, through Redis pub/sub.

It publishes to Redis channels ``<prefix><topic>``; each hub (one per worker process) runs one
listener task on a pattern subscription to ``<prefix>*`` and fans what arrives out to its local
subscribers (a ``LocalHub``), so several workers share one stream. Publishing uses a synchronous
client (thread-safe, one loopback round trip), so feed threads can call it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis
import redis.asyncio as aioredis

from pipelines.live import hub
from pipelines.live.hub import DEFAULT_QUEUE_SIZE, LocalHub, Subscription

__all__ = ["RedisHub", "open_hub"]

log = logging.getLogger(__name__)


def channel_prefix(client: redis.Redis) -> str:
    """``tradeforge:live:`` on database 0, ``tradeforge:db<N>:live:`` on database N: Redis pub/sub
    channels ignore the database number, so deployments kept apart by it must be apart here too."""
    db = int(client.connection_pool.connection_kwargs.get("db", 0) or 0)
    return "tradeforge:live:" if db == 0 else f"tradeforge:db{db}:live:"


class RedisHub:
    """Fan-out through Redis pub/sub across worker processes; see the module docstring."""

    def __init__(self, url: str, *, queue_size: int = DEFAULT_QUEUE_SIZE, prefix: str | None = None) -> None:
        self.url = url
        self._local = LocalHub(queue_size=queue_size)
        self._publisher = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix if prefix is not None else channel_prefix(self._publisher)
        self._client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    async def start(self) -> None:
        """Start this process's listener (once); returns when Redis confirmed the subscription."""
        if self._listener is not None:
            return
        self._client = aioredis.Redis.from_url(self.url, decode_responses=True)
        self._ready = asyncio.Event()
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name="redis-hub-listener")
        ready = asyncio.ensure_future(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._listener}, return_when=asyncio.FIRST_COMPLETED)
        if self._listener in done:
            ready.cancel()
            self._listener.result()  # raises the listener's error (e.g. Redis unreachable)

    async def close(self) -> None:
        await self._local.close()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._publisher.close()

    def subscribe(self, topic: str, *, maxsize: int | None = None) -> Subscription:
        return self._local.subscribe(topic, maxsize=maxsize)

    def subscriber_count(self, topic: str | None = None) -> int:
        """Local subscribers of this process."""
        return self._local.subscriber_count(topic)

    def topic_counts(self) -> dict[str, int]:
        """This process's open subscriptions per topic."""
        return self._local.topic_counts()

    def subscriptions(self, topic: str) -> list[Subscription]:
        """This process's open subscriptions of ``topic``."""
        return self._local.subscriptions(topic)

    def publish(self, topic: str, message: dict[str, Any]) -> int:
        """Serialize once and publish to Redis; returns how many hubs (processes) received it."""
        return int(self._publisher.publish(self.prefix + topic, hub.dumps(message)))

    async def _listen(self) -> None:
        assert self._client is not None and self._ready is not None
        pubsub = self._client.pubsub()
        await pubsub.psubscribe(self.prefix + "*")
        # The psubscribe confirmation arrives first; reading it proves the subscription is live.
        while (await pubsub.get_message(timeout=5.0)) is None:
            pass
        self._ready.set()
        cut = len(self.prefix)
        try:
            while True:
                try:
                    msg = await pubsub.get_message(timeout=1.0)
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    # redis-py reconnects and re-subscribes on the next read; what was published
                    # meanwhile is lost (live streams move on).
                    log.warning("redis hub listener lost its connection (%s); retrying", exc)
                    await asyncio.sleep(1.0)
                    continue
                if msg is None or msg.get("type") != "pmessage":
                    continue
                self._local.publish_payload(str(msg["channel"])[cut:], str(msg["data"]))
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # untyped before redis-py 8


def open_hub(redis_url: str | None, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> LocalHub | RedisHub:
    """A ``RedisHub`` when a Redis URL is configured (several workers), a ``LocalHub`` otherwise."""
    if redis_url:
        return RedisHub(redis_url, queue_size=queue_size)
    return LocalHub(queue_size=queue_size)
