"""The live feeds of the process that runs them: the configured feed, plus the series the active
strategies follow.

:meth:`FeedSet.follow` is declarative: given every (symbol, timeframe) the active strategies trade,
the configured feed carries its configured symbols plus those at its timeframe, and one more feed
per other timeframe carries the symbols at that one (on the configured feed's clock, source and
hooks, so a sped-up replay stays one replay). A series no strategy follows any more is dropped
again, unless configured; a feed left with no symbols stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.live.feed import LiveFeed

__all__ = ["FeedSet", "Series"]

Series = tuple[str, str]  # symbol, timeframe


class FeedSet:
    """``base`` (the configured feed) and the feeds added for followed series; ``wire`` gives a
    new feed the hooks the base has (its subscribers and tick listener)."""

    def __init__(self, base: LiveFeed, wire: Callable[[LiveFeed], None]) -> None:
        self.base = base
        self.configured = tuple(s.name for s in base.symbols)
        self._wire = wire
        self._extra: dict[str, LiveFeed] = {}  # timeframe -> the feed of the followed symbols at it
        self._lock = threading.Lock()

    def feeds(self) -> list[LiveFeed]:
        with self._lock:
            return [self.base, *self._extra.values()]

    def carried(self) -> set[Series]:
        """Every (symbol, timeframe) a feed carries now."""
        return {(s.name, f.timeframe.name) for f in self.feeds() for s in f.symbols}

    def follow(self, series: Iterable[Series]) -> None:
        """Carry the configured series and ``series``, no others (see the module docstring)."""
        by_tf: dict[str, list[str]] = {}
        for symbol, timeframe in series:
            by_tf.setdefault(parse_timeframe(timeframe).name, []).append(parse_symbol(symbol).name)
        with self._lock:
            self.base.set_symbols([*self.configured, *by_tf.pop(self.base.timeframe.name, [])])
            for timeframe in [tf for tf in self._extra if tf not in by_tf]:
                self._extra.pop(timeframe).close()
            for timeframe, symbols in by_tf.items():
                feed = self._extra.get(timeframe)
                if feed is not None:
                    feed.set_symbols(symbols)
                    continue
                feed = self._extra[timeframe] = self._sibling(symbols, timeframe)
                feed.start()

    def close(self) -> None:
        with self._lock:
            feeds, self._extra = [self.base, *self._extra.values()], {}
        for feed in feeds:
            feed.close()

    def _sibling(self, symbols: list[str], timeframe: str) -> LiveFeed:
        base = self.base
        feed = LiveFeed(
            base.settings,
            symbols,
            timeframe,
            clock=base.clock,
            on_new_bars=base.on_new_bars,
            backfill_bars=base.backfill_bars,
            poll_delay=base.poll_delay,
            min_interval=base.min_interval,
            source=base.source,
        )
        self._wire(feed)
        return feed
