"""Market time for the live feed: the wall clock, or a replay's virtual clock that runs faster."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import pandas as pd

from pipelines.data.timeutil import utc_now
from pipelines.errors import InvalidRequestError

__all__ = ["Clock", "VirtualClock", "WallClock"]


class Clock(Protocol):
    """Market time: ``now()`` and how many market seconds pass per wall second."""

    @property
    def speed(self) -> float: ...

    def now(self) -> pd.Timestamp: ...


class WallClock:
    """Real time."""

    speed = 1.0

    def now(self) -> pd.Timestamp:
        return utc_now()


class VirtualClock:
    """Market time starting at ``start`` and running ``speed`` times faster than the wall clock.

    With ``wall`` (a replay) it never runs ahead of ``wall()``: once it has caught up it is the wall
    clock, and its speed is 1."""

    def __init__(
        self,
        start: pd.Timestamp,
        speed: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], pd.Timestamp] | None = None,
    ) -> None:
        if not speed > 0:
            raise InvalidRequestError(f"speed must be positive, got {speed}")
        self.start = pd.Timestamp(start).tz_convert("UTC")
        self._speed = float(speed)
        self._monotonic = monotonic
        self._wall = wall
        self._t0 = monotonic()

    def _virtual(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(seconds=(self._monotonic() - self._t0) * self._speed)

    @property
    def speed(self) -> float:
        if self._wall is not None and self._virtual() >= self._wall():
            return 1.0
        return self._speed

    def now(self) -> pd.Timestamp:
        virtual = self._virtual()
        return virtual if self._wall is None else min(virtual, self._wall())
