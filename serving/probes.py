"""The backing-service checks behind /health, /health/ready and /api/v1/health, computed at most
once per ``health_cache_seconds`` (a check queries the database, the MLflow registry and Redis: tens
of milliseconds), in a worker thread, by one caller at a time: 32 concurrent probes share one check.

A value older than the interval is still answered while one refresh runs in the background, so a
probe never waits on a slow registry unless the value is very old (three intervals) or absent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread

__all__ = ["HealthCache"]

Check = Callable[[], dict[str, Any]]


class HealthCache:
    def __init__(self, check: Check, ttl_seconds: float) -> None:
        self._check = check
        self._ttl = ttl_seconds
        self._value: dict[str, Any] | None = None
        self._at = 0.0
        self._lock: asyncio.Lock | None = None
        self._refresh: asyncio.Task[dict[str, Any]] | None = None

    async def get(self) -> dict[str, Any]:
        """The latest checks: cached, refreshed behind the caller's back, or computed now."""
        age = time.monotonic() - self._at
        if self._value is not None and age < self._ttl:
            return self._value
        if self._value is not None and age < 3 * self._ttl:
            if self._refresh is None or self._refresh.done():
                self._refresh = asyncio.ensure_future(self._compute())
            return self._value
        return await self._compute()

    async def _compute(self) -> dict[str, Any]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        began = time.monotonic()
        async with self._lock:  # single flight: later callers take the value the first one made
            if self._value is not None and self._at >= began:
                return self._value
            value = await anyio.to_thread.run_sync(self._check)
            self._value, self._at = value, time.monotonic()
            return value
