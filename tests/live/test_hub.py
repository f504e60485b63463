"""The fan-out hub: serialize once, bounded queues, overflow, unsubscribe, and Redis across two workers."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
import uuid
from typing import Any

import pytest

import pipelines.live.hub as hub_module
from pipelines.live.hub import (
    CLOSE_GOING_AWAY,
    CLOSE_OVERFLOW,
    LocalHub,
    SubscriptionClosed,
    price_topic,
)
from pipelines.live.redis_hub import RedisHub, open_hub
from tests.net_support import NO_REDIS, REDIS_URL, redis_up


def test_every_subscriber_gets_the_same_payload_serialized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_dumps = hub_module.dumps

    def counting(message: dict[str, Any]) -> str:
        nonlocal calls
        calls += 1
        return real_dumps(message)

    monkeypatch.setattr(hub_module, "dumps", counting)

    async def scenario() -> None:
        hub = LocalHub(queue_size=8)
        subs = [hub.subscribe(price_topic("AAPL")) for _ in range(1000)]
        other = hub.subscribe(price_topic("MSFT"))
        assert hub.publish(price_topic("AAPL"), {"type": "price_update", "price": 1.5}) == 1000
        got = [await s.get() for s in subs]
        assert calls == 1
        assert got[0] == '{"type":"price_update","price":1.5}'
        assert all(g is got[0] for g in got)  # one object, not 1,000 copies
        assert other.pending == 0

    asyncio.run(scenario())


def test_publish_to_1000_subscribers_takes_well_under_a_few_ms() -> None:
    async def scenario() -> list[float]:
        hub = LocalHub(queue_size=256)
        subs = [hub.subscribe("predictions:m:AAPL") for _ in range(1000)]
        message = {"type": "prediction_update", "model_name": "m", "symbol": "AAPL", "signal": 0.6}
        times = []
        for i in range(50):
            began = time.perf_counter()
            hub.publish("predictions:m:AAPL", {**message, "seq": i})
            times.append(time.perf_counter() - began)
        assert all(s.pending == 50 for s in subs)
        return times

    times = asyncio.run(scenario())
    median = statistics.median(times) * 1000
    print(f"publish to 1,000 local subscribers: median {median:.3f} ms, max {max(times) * 1000:.3f} ms")
    assert median < 5.0


def test_publish_from_another_thread_reaches_loop_subscribers_in_order() -> None:
    async def scenario() -> None:
        hub = LocalHub()
        subs = [hub.subscribe("prices:BTC/USDT") for _ in range(3)]
        thread = threading.Thread(
            target=lambda: [hub.publish("prices:BTC/USDT", {"n": i}) for i in range(20)]
        )
        thread.start()
        for sub in subs:
            got = [await asyncio.wait_for(sub.get(), 5) for _ in range(20)]
            assert got == [f'{{"n":{i}}}' for i in range(20)]
        thread.join()

    asyncio.run(scenario())


def test_slow_subscriber_overflows_and_is_closed_while_others_keep_receiving() -> None:
    async def scenario() -> None:
        hub = LocalHub(queue_size=64)
        slow = hub.subscribe("prices:AAPL", maxsize=4)
        fast = hub.subscribe("prices:AAPL")
        received: list[str] = []
        for i in range(10):
            hub.publish("prices:AAPL", {"n": i})
            received.append(await fast.get())
        assert received == [f'{{"n":{i}}}' for i in range(10)]
        assert slow.closed and slow.close_code == CLOSE_OVERFLOW
        assert "slow consumer" in (slow.close_reason or "")
        with pytest.raises(SubscriptionClosed) as info:
            await slow.get()
        assert info.value.code == CLOSE_OVERFLOW
        assert hub.subscriber_count("prices:AAPL") == 1  # the slow one was detached
        assert hub.publish("prices:AAPL", {"n": 10}) == 1

    asyncio.run(scenario())


def test_unsubscribe_wakes_a_waiting_consumer_and_stops_delivery() -> None:
    async def scenario() -> None:
        hub = LocalHub()
        sub = hub.subscribe("prices:AAPL")
        waiter = asyncio.ensure_future(sub.get())
        await asyncio.sleep(0)
        sub.close()
        with pytest.raises(SubscriptionClosed):
            await asyncio.wait_for(waiter, 2)
        assert hub.subscriber_count() == 0
        assert hub.publish("prices:AAPL", {"n": 1}) == 0
        sub.close()  # idempotent

        kept = hub.subscribe("prices:AAPL")
        hub.publish("prices:AAPL", {"n": 2})
        assert [m async for m in _take(kept, 1)] == ['{"n":2}']
        await hub.close()
        assert kept.close_code == CLOSE_GOING_AWAY
        assert [m async for m in kept] == []  # iteration ends once closed

    asyncio.run(scenario())


async def _take(sub: Any, n: int) -> Any:
    for _ in range(n):
        yield await sub.get()


def test_open_hub_picks_the_implementation() -> None:
    assert isinstance(open_hub(None), LocalHub)
    assert isinstance(open_hub(REDIS_URL), RedisHub)  # connects lazily
    with pytest.raises(ValueError):
        LocalHub(queue_size=0)


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_redis_hub_shares_one_stream_across_two_workers() -> None:
    prefix = f"tradeforge-test:{uuid.uuid4().hex}:"

    async def scenario() -> None:
        first, second = RedisHub(REDIS_URL, prefix=prefix), RedisHub(REDIS_URL, prefix=prefix)
        await first.start()
        await second.start()
        try:
            a = [first.subscribe("prices:AAPL") for _ in range(3)]
            b = [second.subscribe("prices:AAPL") for _ in range(3)]
            other = second.subscribe("prices:MSFT")
            assert first.publish("prices:AAPL", {"n": 1}) == 2  # both workers' listeners
            # A feed thread in the second worker publishes too.
            await asyncio.to_thread(second.publish, "prices:AAPL", {"n": 2})
            for group in (a, b):
                got = [[await asyncio.wait_for(s.get(), 5) for _ in range(2)] for s in group]
                assert got[0] == ['{"n":1}', '{"n":2}']
                assert all(g[0] is got[0][0] for g in got)  # decoded once per worker
            assert other.pending == 0
            assert second.subscriber_count() == 4
        finally:
            await first.close()
            await second.close()
        assert a[0].close_code == CLOSE_GOING_AWAY

    asyncio.run(scenario())


class BufferSink:
    """A FrameSink over a bytearray with a pretend unsent backlog (a socket the peer stopped reading)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.unsent = 0
        self.closed = False
        self.reading = True

    def write_frame(self, frame: bytes) -> int | None:
        if self.closed:
            return None
        self.data += frame
        if not self.reading:
            self.unsent += len(frame)
        return self.unsent


def _frames(data: bytes) -> list[str]:
    """Parse server frames with the websockets library's own parser."""
    from websockets.frames import Frame
    from websockets.streams import StreamReader

    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    texts = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frame = done.value
            assert frame.fin and frame.opcode.name == "TEXT" and not frame.rsv1
            texts.append(frame.data.decode())
    return texts


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_text_frame_is_one_valid_websocket_frame(size: int) -> None:
    payload = "é" * (size // 2) + "x" * (size % 2)  # multi-byte UTF-8: lengths count bytes
    assert _frames(hub_module.text_frame(payload)) == [payload]


def test_direct_subscribers_get_one_frame_built_once_and_queued_ones_the_text() -> None:
    async def main() -> None:
        hub = LocalHub(queue_size=4)
        topic = price_topic("BTC/USDT")
        direct, queued = hub.subscribe(topic), hub.subscribe(topic)
        hub.publish(topic, {"n": 0})  # queued before attach: flushed first, in order
        sink = BufferSink()
        direct.attach(sink)
        assert direct.direct and not queued.direct
        built = []
        real = hub_module.text_frame

        def counted(payload: str) -> bytes:
            built.append(payload)
            return real(payload)

        hub_module.text_frame = counted
        try:
            for n in (1, 2):
                hub.publish(topic, {"n": n})
        finally:
            hub_module.text_frame = real
        assert len(built) == 2  # one frame per publish, whatever the number of direct subscribers
        assert _frames(bytes(sink.data)) == ['{"n":0}', '{"n":1}', '{"n":2}']
        assert [await queued.get() for _ in range(3)] == ['{"n":0}', '{"n":1}', '{"n":2}']

    asyncio.run(main())


def test_a_direct_subscriber_whose_socket_backs_up_is_closed_as_slow() -> None:
    async def main() -> None:
        hub = LocalHub(queue_size=4)
        topic = price_topic("BTC/USDT")
        slow, fast = hub.subscribe(topic), hub.subscribe(topic)
        slow_sink, fast_sink = BufferSink(), BufferSink()
        slow.attach(slow_sink)
        fast.attach(fast_sink)
        slow_sink.reading = False
        pad = "x" * 10_000  # 4 messages' worth is 40 KB: below the 64 KiB floor, so ~7 fit
        sent = 0
        while not slow.closed:
            assert sent < 20
            hub.publish(topic, {"n": sent, "pad": pad})
            sent += 1
        assert slow.close_code == CLOSE_OVERFLOW and "slow consumer" in (slow.close_reason or "")
        assert 64 * 1024 < slow_sink.unsent <= 64 * 1024 + 10_100 and sent == 7
        with pytest.raises(SubscriptionClosed) as closed:
            await slow.get()  # the stream's pump learns why
        assert closed.value.code == CLOSE_OVERFLOW
        hub.publish(topic, {"n": sent, "pad": pad})
        assert len(_frames(bytes(fast_sink.data))) == sent + 1 and not fast.closed
        assert hub.subscriber_count(topic) == 1
        # A sink whose connection is gone ends the subscription quietly (going away, not overflow).
        fast_sink.closed = True
        hub.publish(topic, {"n": 0})
        assert fast.close_code == CLOSE_GOING_AWAY and hub.subscriber_count(topic) == 0

    asyncio.run(main())


def test_each_redis_database_has_its_own_channels() -> None:
    """Pub/sub ignores the database number: the prefix carries it, so two deployments on one server
    kept apart by their database never read each other's messages."""
    from pipelines.live.redis_hub import RedisHub

    assert RedisHub("redis://127.0.0.1:6379/0").prefix == "tradeforge:live:"
    assert RedisHub("redis://127.0.0.1:6379").prefix == "tradeforge:live:"
    assert RedisHub("redis://127.0.0.1:6379/3").prefix == "tradeforge:db3:live:"
    assert RedisHub("redis://127.0.0.1:6379/0", prefix="x:").prefix == "x:"
