"""Fan-out of live messages to many subscribers, in process (``LocalHub``; across worker processes:
``pipelines.live.redis_hub.RedisHub``).

A message is serialized once per publish (JSON text) and the same ``str`` object is handed to every
subscriber. Each subscriber has a bounded queue; a full queue never blocks the publisher: that
subscriber is closed with a reason (``close_code`` 1008, for the WebSocket layer) and others go on.

Subscriptions belong to the asyncio loop they were made on. ``publish`` is thread-safe: called on
that loop it fans out inline; from another thread (a feed thread) it schedules one fan-out per loop
with ``call_soon_threadsafe``, so the cost per subscriber is one ``put_nowait``.

Direct frames: a subscription can be ``attach``-ed to a ``FrameSink`` (the serving layer's uvicorn
protocol exposes one per WebSocket connection). The fan-out then frames the message once (one RFC
6455 text frame, the same bytes for every subscriber) and writes it to each sink in one loop: no
queue, no task switch and no per-subscriber ASGI send, which is what a thousand subscribers cost
before. A sink's unsent bytes play the queue's part: past ``maxsize`` messages' worth the subscriber
is closed as a slow consumer, exactly as with the queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_NORMAL",
    "CLOSE_OVERFLOW",
    "DEFAULT_QUEUE_SIZE",
    "FrameSink",
    "Hub",
    "LocalHub",
    "Subscription",
    "SubscriptionClosed",
    "dumps",
    "prediction_topic",
    "price_topic",
    "relay",
    "text_frame",
]

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 256
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_OVERFLOW = 1008  # policy violation: the consumer fell too far behind


def price_topic(symbol: str) -> str:
    return f"prices:{symbol}"


def prediction_topic(model_name: str, symbol: str) -> str:
    return f"predictions:{model_name}:{symbol}"


def dumps(message: dict[str, Any]) -> str:
    """The wire form of a message (compact JSON); called once per publish."""
    return json.dumps(message, separators=(",", ":"), default=str)


def text_frame(payload: str) -> bytes:
    """``payload`` as one unmasked, unfragmented, uncompressed WebSocket text frame (server side).

    Uncompressed frames are valid on a connection that negotiated permessage-deflate (RFC 7692: a
    frame without RSV1 is not compressed), so the same bytes suit every subscriber.
    """
    data = payload.encode()
    n = len(data)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + data


class FrameSink(Protocol):
    """Where a subscription can write framed messages directly (one WebSocket connection)."""

    def write_frame(self, frame: bytes) -> int | None:
        """Write ``frame``; the bytes still unsent afterwards, or None when the connection is closed."""
        ...


MIN_SINK_BUFFER = 64 * 1024  # a sink may hold this much unsent before its consumer counts as slow


class SubscriptionClosed(Exception):
    """Raised by ``Subscription.get`` once the subscription is closed; carries the close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


_CLOSED = object()  # wakes a consumer waiting on an empty queue


class Subscription:
    """One subscriber's bounded queue of serialized messages of one topic."""

    def __init__(
        self,
        topic: str,
        maxsize: int,
        loop: asyncio.AbstractEventLoop,
        detach: Callable[[Subscription], None],
    ) -> None:
        self.topic = topic
        self.loop = loop
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize)
        self._detach = detach
        self._maxsize = maxsize
        self.sink: FrameSink | None = None  # set by ``attach``
        self.close_code: int | None = None
        self.close_reason: str | None = None

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def offer(self, payload: str) -> bool:
        """Queue ``payload`` (on the subscription's loop); a full queue closes the subscription."""
        if self.close_code is not None:
            return False
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.close(CLOSE_OVERFLOW, self._overflow_reason())
            return False
        return True

    @property
    def direct(self) -> bool:
        """Whether messages go straight to a ``FrameSink`` (see the module docstring)."""
        return self.sink is not None

    def attach(self, sink: FrameSink) -> None:
        """Deliver through ``sink`` from now on; what is queued is written first, in order.

        Call on the subscription's loop once the consumer's own first messages are sent. ``get``
        then only waits for the close (the consumer still learns why it was closed).
        """
        if self.close_code is not None:
            return
        self.sink = sink
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, str) and not self.write(text_frame(item)):
                return

    def write(self, frame: bytes) -> bool:
        """Write a framed message to the attached sink (the fan-out's per-subscriber step).

        False once closed: the connection went away, or its unsent bytes passed ``maxsize``
        messages' worth (at least ``MIN_SINK_BUFFER``), which closes it as a slow consumer.
        """
        sink = self.sink
        if sink is None or self.close_code is not None:
            return False
        unsent = sink.write_frame(frame)
        if unsent is None:
            self.close(CLOSE_GOING_AWAY, "connection closed")
            return False
        if unsent > MIN_SINK_BUFFER and unsent > self._maxsize * len(frame):
            self.close(CLOSE_OVERFLOW, self._overflow_reason())
            return False
        return True

    def _overflow_reason(self) -> str:
        return f"slow consumer: {self._maxsize} messages of {self.topic} were not read in time"

    async def get(self) -> str:
        """The next message; ``SubscriptionClosed`` once closed (pending messages are dropped)."""
        if self.close_code is not None:
            raise SubscriptionClosed(self.close_code, self.close_reason or "")
        item = await self._queue.get()
        if item is _CLOSED or self.close_code is not None:
            raise SubscriptionClosed(self.close_code or CLOSE_NORMAL, self.close_reason or "")
        assert isinstance(item, str)
        return item

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    def close(self, code: int = CLOSE_NORMAL, reason: str = "unsubscribed") -> None:
        """Detach from the hub and wake the consumer (idempotent; call on the subscription's loop)."""
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        self._detach(self)
        if self._queue.empty():
            self._queue.put_nowait(_CLOSED)


class Hub(Protocol):
    """What the WebSocket layer and the feed need of a hub."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def subscribe(self, topic: str, *, maxsize: int | None = None) -> Subscription: ...

    def publish(self, topic: str, message: dict[str, Any]) -> int: ...

    def subscriber_count(self, topic: str | None = None) -> int: ...


class LocalHub:
    """In-process fan-out; see the module docstring."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self._lock = threading.Lock()
        # topic -> loop -> subscriptions (dicts keep insertion order: delivery in subscription order)
        self._topics: dict[str, dict[asyncio.AbstractEventLoop, dict[Subscription, None]]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        """Close every subscription of this loop (and schedule it for other loops)."""
        with self._lock:
            subs = [s for loops in self._topics.values() for group in loops.values() for s in group]
        for sub in subs:
            self._close_on_loop(sub, CLOSE_GOING_AWAY, "server shutting down")

    def subscribe(self, topic: str, *, maxsize: int | None = None) -> Subscription:
        """A new subscription of ``topic`` bound to the running loop (call from a coroutine)."""
        loop = asyncio.get_running_loop()
        sub = Subscription(topic, maxsize or self.queue_size, loop, self._detach)
        with self._lock:
            self._topics.setdefault(topic, {}).setdefault(loop, {})[sub] = None
        return sub

    def subscriber_count(self, topic: str | None = None) -> int:
        with self._lock:
            topics = [self._topics.get(topic, {})] if topic is not None else list(self._topics.values())
            return sum(len(group) for loops in topics for group in loops.values())

    def topic_counts(self) -> dict[str, int]:
        """Open subscriptions per topic (for metrics)."""
        with self._lock:
            return {topic: sum(len(g) for g in loops.values()) for topic, loops in self._topics.items()}

    def subscriptions(self, topic: str) -> list[Subscription]:
        """The open subscriptions of ``topic`` (every loop), in delivery order."""
        with self._lock:
            return [sub for group in self._topics.get(topic, {}).values() for sub in group]

    def publish(self, topic: str, message: dict[str, Any]) -> int:
        """Serialize ``message`` once and deliver it to the topic's subscribers; returns how many."""
        return self.publish_payload(topic, dumps(message))

    def publish_payload(self, topic: str, payload: str) -> int:
        """Deliver an already serialized message (the same object to every subscriber)."""
        with self._lock:
            loops = self._topics.get(topic)
            if not loops:
                return 0
            groups = [(loop, tuple(group)) for loop, group in loops.items()]
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        count = 0
        for loop, subs in groups:
            count += len(subs)
            if loop is current:
                _fan_out(subs, payload)
                continue
            try:
                loop.call_soon_threadsafe(_fan_out, subs, payload)
            except RuntimeError:  # that loop is closed: its subscribers are gone
                for sub in subs:
                    self._detach(sub)
        return count

    def _detach(self, sub: Subscription) -> None:
        with self._lock:
            loops = self._topics.get(sub.topic)
            group = loops.get(sub.loop) if loops else None
            if group is None or loops is None:
                return
            group.pop(sub, None)
            if not group:
                del loops[sub.loop]
            if not loops:
                del self._topics[sub.topic]

    def _close_on_loop(self, sub: Subscription, code: int, reason: str) -> None:
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if sub.loop is current:
            sub.close(code, reason)
            return
        try:
            sub.loop.call_soon_threadsafe(sub.close, code, reason)
        except RuntimeError:
            self._detach(sub)


def _fan_out(subs: tuple[Subscription, ...], payload: str) -> None:
    frame: bytes | None = None  # framed once, for every direct subscriber
    for sub in subs:
        if sub.sink is None:
            sub.offer(payload)
            continue
        if frame is None:
            frame = text_frame(payload)
        sub.write(frame)


async def relay(hub: Hub, topic: str, deliver: Callable[[Any], None], *, maxsize: int = 10_000) -> None:
    """Hand every message published to ``topic`` (by any worker, decoded from JSON) to ``deliver``
    until the hub closes: how a process follows a topic that is not a client's stream.

    Should the consumer ever fall a whole queue behind, the hub drops its subscription; it subscribes
    again (the messages in between are lost to it).
    """
    while True:
        sub = hub.subscribe(topic, maxsize=maxsize)
        try:
            async for payload in sub:
                try:
                    deliver(json.loads(payload))
                except Exception:  # one bad message must not end the relay
                    log.exception("relay of %s failed on a message", topic)
        finally:
            sub.close()
        if sub.close_code != CLOSE_OVERFLOW:
            return
        log.warning("relay of %s fell behind (%s); subscribing again", topic, sub.close_reason)
