"""Fixed-window rate limits: in memory, and on the local Redis (shared across limiter instances)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from pipelines.errors import InvalidRequestError
from pipelines.redaction import redact_url
from pipelines.settings import Settings
from serving.ratelimit import (
    AsyncMemoryRateLimiter,
    AsyncRedisRateLimiter,
    MemoryRateLimiter,
    RateDecision,
    RateLimiter,
    RedisRateLimiter,
    limit_for_tier,
    open_async_rate_limiter,
    open_rate_limiter,
)
from tests.net_support import REDIS_URL, free_port

WINDOW = 60


class FakeClock:
    """A settable clock. It starts near the real time: Redis expires keys by its own clock."""

    def __init__(self) -> None:
        self.now = (int(time.time()) // WINDOW) * WINDOW + 10.5

    def __call__(self) -> float:
        return self.now


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"local Redis at {REDIS_URL} is not reachable ({exc})")
    return client


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix unique to the test; its keys are deleted afterwards."""
    client = _redis_or_skip()
    prefix = f"tradeforge:rl:test-{uuid.uuid4().hex}:"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeLimiter = Callable[[], RateLimiter]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_limiter(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[MakeLimiter]:
    """Builds limiters that share one counter store (one process's memory, or one Redis prefix)."""
    made: list[RateLimiter] = []
    if request.param == "memory":
        shared = MemoryRateLimiter(clock)

        def make() -> RateLimiter:
            return shared
    else:
        prefix = request.getfixturevalue("redis_prefix")

        def make() -> RateLimiter:
            made.append(RedisRateLimiter(REDIS_URL, prefix=prefix, clock=clock))
            return made[-1]

    yield make
    for limiter in made:
        limiter.close()


def test_counts_down_then_denies_until_the_aligned_reset(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter()
    reset = int(clock.now) // WINDOW * WINDOW + WINDOW
    got = [limiter.hit("user:1", 3, WINDOW) for _ in range(3)]
    assert [d.remaining for d in got] == [2, 1, 0]
    assert all(d.allowed and d.limit == 3 and d.reset == reset and d.retry_after == 0 for d in got)
    denied = limiter.hit("user:1", 3, WINDOW)
    assert denied == RateDecision(False, 3, 0, reset, WINDOW - 10)
    assert denied.headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
        "Retry-After": str(WINDOW - 10),
    }
    assert "Retry-After" not in got[0].headers()


def test_window_rollover_starts_a_fresh_count(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter()
    for _ in range(2):
        limiter.hit("user:1", 2, WINDOW)
    clock.now += WINDOW - 11  # one second before the window ends
    late = limiter.hit("user:1", 2, WINDOW)
    assert not late.allowed and late.retry_after == 1
    clock.now += 1  # exactly the reset instant belongs to the next window
    fresh = limiter.hit("user:1", 2, WINDOW)
    assert fresh.allowed and fresh.remaining == 1 and fresh.reset == late.reset + WINDOW


def test_keys_and_windows_count_separately(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    assert limiter.hit("user:1", 1, WINDOW).allowed
    assert not limiter.hit("user:1", 1, WINDOW).allowed
    assert limiter.hit("user:2", 1, WINDOW).allowed
    assert limiter.hit("user:1", 1, 3600).allowed  # another window length is another counter


def test_unlimited_and_zero(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    for _ in range(5):
        decision = limiter.hit("enterprise:1", None, WINDOW)
        assert decision.allowed and decision.limit is None and decision.remaining is None
    assert decision.headers() == {}
    blocked = limiter.hit("suspended:1", 0, WINDOW)
    assert not blocked.allowed and blocked.remaining == 0 and blocked.retry_after > 0


def test_raising_the_limit_mid_window_grants_the_difference(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    for _ in range(3):
        limiter.hit("user:1", 2, WINDOW)  # the third is denied and not counted
    upgraded = [limiter.hit("user:1", 5, WINDOW).allowed for _ in range(4)]
    assert upgraded == [True, True, True, False]


@pytest.mark.parametrize(
    ("key", "limit", "window", "message"),
    [("", 5, WINDOW, "key"), ("user:1", -1, WINDOW, ">= 0"), ("user:1", 5, 0, "window")],
)
def test_bad_arguments_raise_and_count_nothing(
    make_limiter: MakeLimiter, key: str, limit: int, window: int, message: str
) -> None:
    limiter = make_limiter()
    with pytest.raises(InvalidRequestError, match=message):
        limiter.hit(key, limit, window)
    assert limiter.hit("user:1", 5, WINDOW).remaining == 4


def test_two_limiters_share_the_count(make_limiter: MakeLimiter) -> None:
    first, second = make_limiter(), make_limiter()
    assert first.hit("user:1", 3, WINDOW).remaining == 2
    assert second.hit("user:1", 3, WINDOW).remaining == 1
    assert first.hit("user:1", 3, WINDOW).remaining == 0
    assert not second.hit("user:1", 3, WINDOW).allowed


def test_threads_never_over_admit(make_limiter: MakeLimiter) -> None:
    limiters = [make_limiter() for _ in range(2)]
    limit, threads, per_thread = 150, 6, 40
    admitted: list[int | None] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(i: int) -> None:
        limiter = limiters[i % 2]
        start.wait()
        decisions = [limiter.hit("hot", limit, WINDOW) for _ in range(per_thread)]
        mine = [d.remaining for d in decisions if d.allowed]
        with lock:
            admitted.extend(mine)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert sorted(-1 if r is None else r for r in admitted) == list(range(limit))  # each slot once


def test_memory_evicts_expired_windows(clock: FakeClock) -> None:
    clock.now = (int(time.time()) // 3600) * 3600 + 10.5  # early in an hour: the hourly window stays
    limiter = MemoryRateLimiter(clock)
    for i in range(100):
        limiter.hit(f"user:{i}", 10, WINDOW)
    limiter.hit("hourly", 10, 3600)
    assert len(limiter) == 101
    clock.now += WINDOW
    limiter.hit("user:0", 10, WINDOW)
    assert len(limiter) == 2  # the hourly counter lives on, the minute ones were swept
    limiter.hit("user:1", None, WINDOW)
    assert len(limiter) == 2  # unlimited subjects store nothing


def test_limit_for_tier(settings: Settings) -> None:
    assert limit_for_tier(settings, "free") == 100
    assert limit_for_tier(settings, "pro") == 1000
    assert limit_for_tier(settings, "enterprise") is None
    assert limit_for_tier(settings, None) == 100
    with pytest.raises(InvalidRequestError, match="unknown rate-limit tier 'gold'"):
        limit_for_tier(settings, "gold")


def test_open_without_redis_is_in_memory(settings: Settings) -> None:
    limiter = open_rate_limiter(settings)
    assert isinstance(limiter, MemoryRateLimiter)
    async_limiter = asyncio.run(open_async_rate_limiter(settings))
    assert isinstance(async_limiter, AsyncMemoryRateLimiter)
    assert asyncio.run(async_limiter.hit("user:1", 1, WINDOW)).allowed
    assert not asyncio.run(async_limiter.hit("user:1", 1, WINDOW)).allowed


def test_unreachable_redis_fails_at_construction_without_leaking_the_password() -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConnectionError, match="unreachable") as err:
        RedisRateLimiter(url)
    assert "s3cret-pw" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(ConnectionError, match="unreachable") as aerr:
        asyncio.run(AsyncRedisRateLimiter.connect(url))
    assert "s3cret-pw" not in str(aerr.value)
    assert redact_url("redis://u:p@h:1/0") == "redis://u:***@h:1/0"
    assert redact_url(REDIS_URL) == REDIS_URL


@pytest.mark.redis
def test_open_with_redis_url_and_key_expiry(settings: Settings, redis_prefix: str) -> None:
    limiter = open_rate_limiter(settings.model_copy(update={"redis_url": REDIS_URL}))
    assert isinstance(limiter, RedisRateLimiter)
    limiter.close()
    clock = FakeClock()
    with RedisRateLimiter(REDIS_URL, prefix=redis_prefix, clock=clock) as shared:
        decision = shared.hit("user:1", 5, WINDOW)
    client = redis.Redis.from_url(REDIS_URL)
    (key,) = client.scan_iter(f"{redis_prefix}*")
    assert key.decode() == f"{redis_prefix}{WINDOW}:{decision.reset - WINDOW}:user:1"
    assert 0 < client.ttl(key) <= WINDOW + 5  # expires with its window (plus a few seconds' grace)
    assert client.get(key) == b"1"


@pytest.mark.redis
def test_async_redis_shares_the_sync_counter(redis_prefix: str, clock: FakeClock) -> None:
    sync = RedisRateLimiter(REDIS_URL, prefix=redis_prefix, clock=clock)
    assert sync.hit("user:1", 3, WINDOW).remaining == 2

    async def scenario() -> list[RateDecision]:
        limiter = await AsyncRedisRateLimiter.connect(REDIS_URL, prefix=redis_prefix, clock=clock)
        try:
            burst = await asyncio.gather(*(limiter.hit("user:1", 3, WINDOW) for _ in range(4)))
            burst.append(await limiter.hit("user:2", None, WINDOW))
            return burst
        finally:
            await limiter.aclose()

    decisions = asyncio.run(scenario())
    assert sorted(d.remaining or 0 for d in decisions[:4] if d.allowed) == [0, 1]
    assert sum(not d.allowed for d in decisions[:4]) == 2
    assert decisions[4].allowed and decisions[4].limit is None
    assert not sync.hit("user:1", 3, WINDOW).allowed
    sync.close()


def _start_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.02)
    proc.kill()
    pytest.fail("the private redis-server did not start")


@pytest.mark.redis
def test_redis_outage_fails_open_and_recovers(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    proc = _start_redis(port, tmp_path)
    try:
        limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", clock=clock)
        assert limiter.hit("user:1", 1, WINDOW).allowed
        proc.terminate()
        proc.wait(5)
        with caplog.at_level(logging.INFO, logger="serving.ratelimit"):
            outage = [limiter.hit("user:1", 1, WINDOW) for _ in range(3)]
            assert all(d.allowed and d.degraded and d.remaining is None for d in outage)
            assert "X-RateLimit-Remaining" not in outage[0].headers()
            proc = _start_redis(port, tmp_path)
            assert limiter.hit("user:1", 1, WINDOW).degraded  # Redis is not asked again within a second
            clock.now += 1
            back = limiter.hit("user:1", 1, WINDOW)
        assert back.allowed and not back.degraded and back.remaining == 0  # the restarted server is empty
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
        assert any("answers again" in r.getMessage() for r in caplog.records)
        limiter.close()
    finally:
        proc.terminate()
        proc.wait(5)
