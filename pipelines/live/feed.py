"""The live market feed: appends bars to the Parquet store as they close and tells subscribers.

Every tick brings each symbol's dataset up to the clock's ``now`` through the normal incremental
ingest (``plan_ingest`` / ``ingest``, so live bars are exactly the bars the provider gives for that
range), then reads what is new since the last bar the feed had seen and emits one ``bar`` event per
new bar, oldest first. There is one code path; only the clock differs:

* production: the wall clock; each symbol's configured provider (yfinance/ccxt/synthetic) is polled
  when the current bar should have closed, plus a small delay for the source to publish it;
* demo: a replay. A ``VirtualClock`` that starts in the past and runs ``speed`` times faster than the
  wall clock (speed=60: a 1m bar closes every wall second) but never passes it, and the synthetic
  provider reading that clock under the source ``replay``: the feed replays the deterministic
  synthetic series apart from the real one, and the store never holds a bar from the future.

A dataset that is not stored yet is backfilled with ``backfill_bars`` bars on the first tick; those
are a baseline, not events. A failing provider (or any error) is logged and retried at the next
tick; it never stops the thread. Subscriber callbacks, the ``on_new_bars`` hook (per symbol with new
bars: cached features, predictions) and then ``on_tick`` (once per tick, every symbol's new bars: the
strategy runners) run on the feed thread; their errors are logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.data.ingest import ingest, open_store, plan_ingest
from pipelines.data.market import iso_utc, source_for
from pipelines.data.providers import Provider, get_provider
from pipelines.data.schema import empty_bars
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.timeutil import utc_now
from pipelines.errors import InvalidRequestError, ProviderError
from pipelines.live.clock import Clock, VirtualClock, WallClock
from pipelines.settings import Settings

__all__ = [
    "REPLAY_SOURCE",
    "BarCallback",
    "Clock",
    "FeedStats",
    "LiveFeed",
    "NewBarsHook",
    "TickHook",
    "VirtualClock",
    "WallClock",
    "open_live_feed",
    "price_update",
]

log = logging.getLogger(__name__)

REPLAY_SOURCE = "replay"  # where a sped-up feed stores the synthetic series it replays
REPLAY_WALL_HOURS = 24.0  # how long (wall time) a fresh replay runs before it catches up with now

BarCallback = Callable[[dict[str, Any]], None]
NewBarsHook = Callable[[str, str, pd.DataFrame], None]  # symbol, timeframe, the new bars
TickHook = Callable[[str, Mapping[str, pd.DataFrame]], None]  # timeframe, the new bars by symbol


@dataclass
class FeedStats:
    ticks: int = 0
    bars: int = 0
    errors: int = 0
    last_error: str | None = None


def price_update(event: dict[str, Any]) -> dict[str, Any]:
    """The documented ``price_update`` WebSocket message for a ``bar`` event."""
    bar = event["bar"]
    return {
        "type": "price_update",
        "symbol": event["symbol"],
        "price": bar["close"],
        "timestamp": bar["timestamp"],
        "volume": bar["volume"],
        "timeframe": event["timeframe"],
    }


def _next_close(tf: Timeframe, now: pd.Timestamp) -> pd.Timestamp:
    """When the bar forming at ``now`` closes."""
    start = tf.floor(now)
    return start + (pd.offsets.MonthBegin(1) if tf.name == "1mo" else pd.Timedelta(seconds=tf.seconds))


class LiveFeed:
    """Keeps ``symbols`` at ``timeframe`` up to date in the store; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        symbols: Sequence[str],
        timeframe: str,
        *,
        clock: Clock | None = None,
        providers: Mapping[str, Provider] | None = None,
        on_new_bars: NewBarsHook | None = None,
        backfill_bars: int = 500,
        poll_delay: float = 2.0,
        min_interval: float = 0.02,
        source: str | None = None,
    ) -> None:
        if not symbols:
            raise InvalidRequestError("a live feed needs at least one symbol")
        if backfill_bars < 1:
            raise InvalidRequestError(f"backfill_bars must be at least 1, got {backfill_bars}")
        self.settings = settings
        self.timeframe = parse_timeframe(timeframe)
        self.symbols: tuple[Symbol, ...] = tuple(dict.fromkeys(parse_symbol(s) for s in symbols))
        self.source = source  # one source for every symbol (a replay's); None: each symbol's configured
        self.sources = {s.name: source or source_for(settings, s) for s in self.symbols}
        if "file" in self.sources.values():
            raise InvalidRequestError("a user's file is no live source")
        self.clock: Clock = clock or WallClock()
        self.on_new_bars = on_new_bars
        self.on_tick: TickHook | None = None  # set by the caller
        self.backfill_bars = backfill_bars
        self.poll_delay = poll_delay
        self.min_interval = min_interval
        self.stats = FeedStats()
        self._providers: dict[str, Provider] = dict(providers or {})
        self._store = open_store(settings)
        self._last: dict[str, pd.Timestamp] = {}  # symbol -> the latest bar the feed has seen
        self._subscribers: dict[int, BarCallback] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- subscribers ---------------------------------------------------------------------------
    def subscribe(self, callback: BarCallback) -> Callable[[], None]:
        """Call ``callback(event)`` for every new bar (on the feed thread); returns the unsubscribe."""
        with self._lock:
            token = self._next_id
            self._next_id += 1
            self._subscribers[token] = callback

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers.pop(token, None)

        return unsubscribe

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Carry ``symbols`` from the next tick on: a symbol added starts with a baseline tick (its
        backfill, no news), as at start; one removed is forgotten."""
        wanted = tuple(dict.fromkeys(parse_symbol(s) for s in symbols))
        sources = {s.name: self.source or source_for(self.settings, s) for s in wanted}
        if "file" in sources.values():
            raise InvalidRequestError("a user's file is no live source")
        self.sources.update(sources)
        gone = {s.name for s in self.symbols} - {s.name for s in wanted}
        self.symbols = wanted  # one assignment: a tick in progress keeps the tuple it took
        for name in gone:
            self._last.pop(name, None)

    def stored_source(self, symbol: str) -> str | None:
        """The source the feed stores ``symbol`` under, once it has stored its series (else None)."""
        return self.sources.get(symbol) if symbol in self._last else None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"live-feed-{self.timeframe.name}", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            if self._thread is not threading.current_thread():  # closed by its own hook: it just ends
                self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> LiveFeed:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.seconds_to_next_tick())

    def seconds_to_next_tick(self) -> float:
        """Wall seconds until the forming bar closes (plus ``poll_delay``)."""
        now = self.clock.now()
        market = (_next_close(self.timeframe, now) - now).total_seconds()
        return max(self.min_interval, market / self.clock.speed + self.poll_delay)

    # -- one tick ------------------------------------------------------------------------------
    def poll_once(self) -> list[dict[str, Any]]:
        """Bring every symbol up to the clock's now; emit and return the events of new bars."""
        now = self.clock.now()
        self.stats.ticks += 1
        events: list[dict[str, Any]] = []
        ticked: dict[str, pd.DataFrame] = {}
        for symbol in self.symbols:
            try:
                bars = self._advance(symbol, now)
            except Exception as exc:  # a provider or store failure: retried at the next tick
                self.stats.errors += 1
                self.stats.last_error = f"{symbol.name}: {type(exc).__name__}: {exc}"
                log.warning("live feed %s %s failed: %s", symbol.name, self.timeframe.name, exc)
                continue
            if bars.empty:
                continue
            source = self.sources[symbol.name]
            new = [self._event(symbol.name, source, row) for row in bars.itertuples(index=False)]
            self.stats.bars += len(new)
            events.extend(new)
            self._emit(new)
            ticked[symbol.name] = bars
            if self.on_new_bars is not None:
                try:
                    self.on_new_bars(symbol.name, self.timeframe.name, bars)
                except Exception:
                    log.exception("live feed on_new_bars hook failed for %s", symbol.name)
        if self.on_tick is not None and ticked:
            try:
                self.on_tick(self.timeframe.name, ticked)
            except Exception:
                log.exception("live feed on_tick hook failed")
        return events

    def _provider(self, source: str) -> Provider:
        provider = self._providers.get(source)
        if provider is None:
            if source in ("synthetic", REPLAY_SOURCE):  # reads the feed's clock (a replay's)
                # Imported on first use, as get_provider does: its numba kernels compile at import.
                from pipelines.data.providers.synthetic import SyntheticProvider

                seed = self.settings.data.synthetic_seed
                provider = SyntheticProvider(seed, now=self.clock.now, name=source)
            else:
                provider = get_provider(source, self.settings)
            self._providers[source] = provider
        return provider

    def _advance(self, symbol: Symbol, now: pd.Timestamp) -> pd.DataFrame:
        """Store the bars of ``symbol`` that closed since the last tick; those bars (none on the first
        tick, whose backfill is a baseline, not news)."""
        source, tf = self.sources[symbol.name], self.timeframe
        key = SeriesKey(source, tf.name, symbol.name)
        seen = self._last.get(symbol.name)
        if seen is not None and _next_close(tf, seen + pd.Timedelta(seconds=tf.seconds)) > now:
            return empty_bars()  # the bar after the last one seen cannot have closed yet
        bounds = self._store.bounds(key)
        start = (
            bounds.first
            if bounds is not None
            else tf.floor(now - self.backfill_bars * pd.Timedelta(seconds=tf.seconds))
        )
        plan = plan_ingest(
            self.settings, source=source, symbols=[symbol.name], timeframe=tf.name, start=start, end=now
        )
        report = ingest(self.settings, plan, provider=self._provider(source), now=now)
        if report.failed:
            raise ProviderError(report.failed[0].error or "ingest failed")
        if seen is None:  # the first tick sets the baseline (a backfill is no news)
            after = self._store.bounds(key)
            self._last[symbol.name] = after.last if after is not None else start
            return empty_bars()
        bars = self._store.read(key, seen + pd.Timedelta(1, "ns"))
        if not bars.empty:
            self._last[symbol.name] = pd.Timestamp(bars["timestamp"].iloc[-1])
        return bars

    def _event(self, symbol: str, source: str, row: Any) -> dict[str, Any]:
        return {
            "type": "bar",
            "symbol": symbol,
            "timeframe": self.timeframe.name,
            "bar": {
                "timestamp": iso_utc(row.timestamp),
                "open": float(row.open),
                "high": float(row.high),
                "low": float(row.low),
                "close": float(row.close),
                "volume": float(row.volume),
            },
            "source": source,
        }

    def _emit(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            callbacks = list(self._subscribers.values())
        for callback in callbacks:
            for event in events:
                try:
                    callback(event)
                except Exception:
                    log.exception("live feed subscriber failed on %s", event["symbol"])


def open_live_feed(
    settings: Settings,
    symbols: Sequence[str],
    timeframe: str,
    *,
    speed: float | None = None,
    on_new_bars: NewBarsHook | None = None,
    backfill_bars: int = 500,
) -> LiveFeed:
    """A production feed (wall clock), or with ``speed`` a demo feed: a replay of the synthetic series.

    The replay stores its bars under the source ``replay``, apart from the real series, and its clock
    never passes the wall clock, so no stored bar lies in the future. It starts where the stored
    replay ends (a restarted demo continues it), or ``REPLAY_WALL_HOURS`` of replay before the wall
    clock; once it has caught up it runs in real time. Only synthetic sources can be sped up.
    """
    feed_symbols = [parse_symbol(s) for s in symbols]
    if speed is None:
        return LiveFeed(settings, symbols, timeframe, on_new_bars=on_new_bars, backfill_bars=backfill_bars)
    sources = {source_for(settings, s) for s in feed_symbols}
    if sources != {"synthetic"}:
        raise InvalidRequestError(
            f"only the synthetic source can run at a speed-up; configured: {', '.join(sorted(sources))}"
        )
    if not speed > 0:
        raise InvalidRequestError(f"speed must be positive, got {speed}")
    tf = parse_timeframe(timeframe)
    store = open_store(settings)
    now = utc_now()
    start = tf.floor(now - pd.Timedelta(hours=REPLAY_WALL_HOURS) * max(speed - 1.0, 0.0))
    for s in feed_symbols:
        bounds = store.bounds(SeriesKey(REPLAY_SOURCE, tf.name, s.name))
        if bounds is not None:
            start = max(start, bounds.last + pd.Timedelta(seconds=tf.seconds))
    return LiveFeed(
        settings,
        symbols,
        timeframe,
        clock=VirtualClock(min(start, now), speed, wall=utc_now),
        on_new_bars=on_new_bars,
        backfill_bars=backfill_bars,
        poll_delay=0.0,
        source=REPLAY_SOURCE,
    )
