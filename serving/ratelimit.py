"""Per-subject request limits for the API (by tier: free 100/h, pro 1000/h, enterprise unlimited).

Algorithm: a fixed window aligned to the window length. A window of ``window_s`` seconds starts at
``now // window_s * window_s`` (so every worker and every key agree on it) and ``reset`` is its end, which
is what ``X-RateLimit-Reset`` reports as a Unix epoch. A hit is counted only when admitted, so a
counter never exceeds its limit and raising a subject's limit mid-window (a tier upgrade) grants exactly
the difference. The known trade-off of fixed windows: a client may spend one window's quota at its end
and the next one at the start of the next window (at most twice the limit in a short span).

Implementations: :class:`MemoryRateLimiter` (one process), :class:`RedisRateLimiter` and
:class:`AsyncRedisRateLimiter` (shared by every worker through one Redis counter per key and window,
updated atomically by a Lua script; keys are ``tradeforge:rl:{window_s}:{window_start}:{key}`` and
expire with their window). Workers read their own clock; NTP-synchronised hosts agree on the window.

When Redis becomes unreachable after start-up, a hit *fails open*: it is admitted with
``remaining=None`` and ``degraded=True``; for the next second hits do not even try Redis, so an outage
does not cost every request a timeout. One warning is logged per outage, one info line when Redis is
back. Availability of the API wins over exact accounting; the API can count degraded decisions in its
metrics. Start-up is strict: an unreachable Redis raises :class:`ConnectionError`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, Self

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from pipelines.errors import InvalidRequestError
from pipelines.redaction import redact_url
from pipelines.settings import Settings

__all__ = [
    "DEFAULT_PREFIX",
    "AsyncMemoryRateLimiter",
    "AsyncRateLimiter",
    "AsyncRedisRateLimiter",
    "Clock",
    "MemoryRateLimiter",
    "RateDecision",
    "RateLimiter",
    "RedisRateLimiter",
    "limit_for_tier",
    "open_async_rate_limiter",
    "open_rate_limiter",
]

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "tradeforge:rl:"
# A rate-limit check must never stall a request: short socket timeouts, one immediate reconnect.
_SOCKET_TIMEOUT_S = 0.25
# After a failed round trip, hits are admitted without trying Redis for this long.
_OUTAGE_PAUSE_S = 1.0
# Keys outlive their window a little, so a worker whose clock lags slightly still finds the counter.
_EXPIRY_GRACE_S = 5

Clock = Callable[[], float]

# KEYS[1]: the window's counter. ARGV: limit, expiry (epoch seconds). Returns {admitted 0/1, count}.
_HIT_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  return {0, count}
end
count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIREAT', KEYS[1], ARGV[2])
end
return {1, count}
"""


class RateDecision(NamedTuple):
    """The answer to one hit: ``limit`` and ``remaining`` are None when unlimited, ``remaining`` if degraded.

    A named tuple rather than a frozen dataclass: it is built on every request, four times cheaper.
    """

    allowed: bool
    limit: int | None
    remaining: int | None
    reset: int
    """Unix epoch seconds when the current window ends."""
    retry_after: int
    """Seconds until a denied caller may try again; 0 when allowed."""
    degraded: bool = False
    """True when the shared store was unreachable and the hit was admitted without counting."""

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers (and ``Retry-After`` when denied); none for unlimited subjects."""
        if self.limit is None:
            return {}
        out = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Reset": str(self.reset)}
        if self.remaining is not None:
            out["X-RateLimit-Remaining"] = str(self.remaining)
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter(Protocol):
    """Counts hits per key in fixed windows; ``limit=None`` means unlimited."""

    def hit(self, key: str, limit: int | None, window_s: int) -> RateDecision: ...

    def close(self) -> None: ...


class AsyncRateLimiter(Protocol):
    """The same contract for the event loop: a hit never blocks it on I/O."""

    async def hit(self, key: str, limit: int | None, window_s: int) -> RateDecision: ...

    async def aclose(self) -> None: ...


def limit_for_tier(settings: Settings, tier: str | None) -> int | None:
    """Requests per window of ``tier`` (``settings.limits.default_tier`` when None); None means unlimited."""
    name = tier or settings.limits.default_tier
    if name not in settings.limits.rate_limits:
        known = ", ".join(sorted(settings.limits.rate_limits))
        raise InvalidRequestError(f"unknown rate-limit tier {name!r}; known tiers: {known}")
    return settings.limits.rate_limits[name]


def _window(now: float, key: str, limit: int | None, window_s: int) -> tuple[int, int]:
    """Validate a hit and return its window's ``(start, reset)`` in epoch seconds."""
    if not key:
        raise InvalidRequestError("rate-limit key must not be empty")
    if limit is not None and limit < 0:
        raise InvalidRequestError(f"rate limit must be >= 0 or None (unlimited), got {limit}")
    if window_s <= 0:
        raise InvalidRequestError(f"rate-limit window must be a positive number of seconds, got {window_s}")
    start = int(now) // window_s * window_s
    return start, start + window_s


def _decide(admitted: bool, count: int, limit: int, reset: int, now: float) -> RateDecision:
    if admitted:
        return RateDecision(True, limit, limit - count, reset, 0)
    return RateDecision(False, limit, 0, reset, max(1, math.ceil(reset - now)))


def _unlimited(reset: int) -> RateDecision:
    return RateDecision(True, None, None, reset, 0)


def _degraded(limit: int, reset: int) -> RateDecision:
    return RateDecision(True, limit, None, reset, 0, degraded=True)


class MemoryRateLimiter:
    """In-process limiter: thread-safe, memory bounded by the keys seen in their current window.

    Expired windows are evicted in one sweep when the earliest live window ends, so the sweep's cost is
    amortised over the hits of a whole window.
    """

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # (key, window_s) -> [window_start, count]
        self._counters: dict[tuple[str, int], list[int]] = {}
        self._next_sweep = math.inf

    def hit(self, key: str, limit: int | None, window_s: int) -> RateDecision:
        now = self._clock()
        start, reset = _window(now, key, limit, window_s)
        if limit is None:
            return _unlimited(reset)
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            counter = self._counters.get((key, window_s))
            if counter is None or counter[0] != start:
                counter = [start, 0]
                self._counters[(key, window_s)] = counter
                self._next_sweep = min(self._next_sweep, reset)
            admitted = counter[1] < limit
            if admitted:
                counter[1] += 1
            count = counter[1]
        return _decide(admitted, count, limit, reset, now)

    def _sweep(self, now: float) -> None:
        live = {k: c for k, c in self._counters.items() if c[0] + k[1] > now}
        self._counters = live
        self._next_sweep = min((c[0] + k[1] for k, c in live.items()), default=math.inf)

    def __len__(self) -> int:
        """Counters held (live or not yet swept)."""
        return len(self._counters)

    def close(self) -> None:
        with self._lock:
            self._counters.clear()
            self._next_sweep = math.inf


class AsyncMemoryRateLimiter:
    """:class:`MemoryRateLimiter` behind the async protocol (its lock is held for microseconds)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.limiter = MemoryRateLimiter(clock)

    async def hit(self, key: str, limit: int | None, window_s: int) -> RateDecision:
        return self.limiter.hit(key, limit, window_s)

    async def aclose(self) -> None:
        self.limiter.close()


class _Pending(NamedTuple):
    """A counted hit about to go to Redis: the script's KEYS and ARGV, and what the answer needs."""

    now: float
    limit: int
    reset: int
    keys: list[str]
    args: list[int]


class _RedisBase:
    """What the sync and async Redis limiters share: keys, script arguments, fail-open bookkeeping."""

    def __init__(self, url: str, prefix: str, clock: Clock) -> None:
        self.url = redact_url(url)
        self.prefix = prefix
        self._clock = clock
        self._failing = False
        self._retry_at = -math.inf

    def _begin(self, key: str, limit: int | None, window_s: int) -> RateDecision | _Pending:
        """The decision when no round trip is needed (unlimited, or Redis just failed), else the trip."""
        now = self._clock()
        start, reset = _window(now, key, limit, window_s)
        if limit is None:
            return _unlimited(reset)
        if now < self._retry_at:
            return _degraded(limit, reset)
        key = f"{self.prefix}{window_s}:{start}:{key}"
        return _Pending(now, limit, reset, [key], [limit, reset + _EXPIRY_GRACE_S])

    def _result(self, raw: Any, hit: _Pending) -> RateDecision:
        if self._failing:
            self._failing = False
            log.info("rate limiter: Redis at %s answers again; counting resumes", self.url)
        admitted, count = (int(v) for v in raw)
        return _decide(bool(admitted), count, hit.limit, hit.reset, hit.now)

    def _fail_open(self, exc: Exception, hit: _Pending) -> RateDecision:
        # Admit without asking Redis for a moment, so an outage does not cost every request a timeout.
        self._retry_at = hit.now + _OUTAGE_PAUSE_S
        if not self._failing:
            self._failing = True
            log.warning("rate limiter: Redis at %s unreachable (%s); admitting uncounted", self.url, exc)
        return _degraded(hit.limit, hit.reset)

    def _unreachable(self, exc: Exception) -> ConnectionError:
        return ConnectionError(f"rate limiter: Redis at {self.url} is unreachable: {exc}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, prefix={self.prefix!r})"


class RedisRateLimiter(_RedisBase):
    """Limiter shared across processes through Redis (sync client; one round trip per hit).

    Raises :class:`ConnectionError` when Redis does not answer ``PING`` at construction.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, clock: Clock = time.time) -> None:
        super().__init__(url, prefix, clock)
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=_SOCKET_TIMEOUT_S,
            socket_connect_timeout=_SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        try:
            self._client.ping()
        except redis.RedisError as exc:
            self._client.close()
            raise self._unreachable(exc) from exc
        self._script = self._client.register_script(_HIT_SCRIPT)

    def hit(self, key: str, limit: int | None, window_s: int) -> RateDecision:
        hit = self._begin(key, limit, window_s)
        if isinstance(hit, RateDecision):
            return hit
        try:
            raw = self._script(keys=hit.keys, args=hit.args)
        except redis.RedisError as exc:
            return self._fail_open(exc, hit)
        return self._result(raw, hit)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRedisRateLimiter(_RedisBase):
    """:class:`RedisRateLimiter` on ``redis.asyncio``, so the event loop never waits on a socket.

    Build it with ``await AsyncRedisRateLimiter.connect(url)``, which pings like the sync constructor.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, clock: Clock = time.time) -> None:
        super().__init__(url, prefix, clock)
        self._client = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=_SOCKET_TIMEOUT_S,
            socket_connect_timeout=_SOCKET_TIMEOUT_S,
            retry=AsyncRetry(NoBackoff(), 1),
        )
        self._script = self._client.register_script(_HIT_SCRIPT)

    @classmethod
    async def connect(cls, url: str, *, prefix: str = DEFAULT_PREFIX, clock: Clock = time.time) -> Self:
        """A limiter whose Redis answered ``PING``; raises :class:`ConnectionError` otherwise."""
        limiter = cls(url, prefix=prefix, clock=clock)
        try:
            await limiter._client.ping()
        except redis.RedisError as exc:
            await limiter.aclose()
            raise limiter._unreachable(exc) from exc
        return limiter

    async def hit(self, key: str, limit: int | None, window_s: int) -> RateDecision:
        hit = self._begin(key, limit, window_s)
        if isinstance(hit, RateDecision):
            return hit
        try:
            raw = await self._script(keys=hit.keys, args=hit.args)
        except redis.RedisError as exc:
            return self._fail_open(exc, hit)
        return self._result(raw, hit)

    async def aclose(self) -> None:
        await self._client.aclose()


def open_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis when ``settings.redis_url`` is set (shared by every worker), memory otherwise."""
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url)
    return MemoryRateLimiter()


async def open_async_rate_limiter(settings: Settings) -> AsyncRateLimiter:
    """The event-loop flavour of :func:`open_rate_limiter`."""
    if settings.redis_url:
        return await AsyncRedisRateLimiter.connect(settings.redis_url)
    return AsyncMemoryRateLimiter()
