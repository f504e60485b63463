"""The live feed against a real temp store and the real synthetic provider."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.data.ingest import open_store
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.warehouse import Warehouse
from pipelines.errors import InvalidRequestError, ProviderError
from pipelines.live.feed import REPLAY_SOURCE, LiveFeed, VirtualClock, open_live_feed, price_update
from pipelines.live.feeds import FeedSet
from pipelines.settings import Settings

START = pd.Timestamp("2025-06-30T12:00", tz="UTC")
KEY = SeriesKey("synthetic", "1m", "BTC/USDT")


class ManualClock:
    speed = 60.0

    def __init__(self, now: pd.Timestamp) -> None:
        self.value = now

    def now(self) -> pd.Timestamp:
        return self.value


class FlakyProvider:
    """The synthetic provider behind a switch that makes it fail."""

    name = "synthetic"

    def __init__(self, now: Callable[[], pd.Timestamp], seed: int) -> None:
        self.inner = SyntheticProvider(seed, now=now)
        self.fail = False
        self.calls = 0

    def fetch(self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        self.calls += 1
        if self.fail:
            raise ProviderError("exchange unavailable")
        return self.inner.fetch(symbol, timeframe, start, end)


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _expected(settings: Settings, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    provider = SyntheticProvider(settings.data.synthetic_seed, now=lambda: last + pd.Timedelta(days=1))
    return provider.fetch(
        parse_symbol("BTC/USDT"), parse_timeframe("1m"), first, last + pd.Timedelta(minutes=1)
    )


def test_sped_up_synthetic_feed_appends_exactly_the_provider_bars(settings: Settings) -> None:
    events: list[dict[str, Any]] = []
    hooks: list[tuple[str, str, int]] = []
    feed = LiveFeed(
        settings,
        ["BTC/USDT"],
        "1m",
        clock=VirtualClock(START, speed=3600),  # a 1m bar closes every 1/60 s
        backfill_bars=30,
        poll_delay=0.0,
        on_new_bars=lambda s, tf, bars: hooks.append((s, tf, len(bars))),
    )
    ticks: list[tuple[str, dict[str, int]]] = []
    feed.on_tick = lambda tf, bars: ticks.append((tf, {s: len(b) for s, b in bars.items()}))
    feed.subscribe(events.append)
    with feed:
        _wait(lambda: len(events) >= 20)
    assert not feed.running
    stored = open_store(settings).read(KEY)
    expected = _expected(settings, stored["timestamp"].iloc[0], stored["timestamp"].iloc[-1])
    assert len(stored) == len(expected) >= 30 + 20
    cols = ["open", "high", "low", "close", "volume"]
    np.testing.assert_array_equal(stored[cols].to_numpy(), expected[cols].to_numpy())
    assert (stored["timestamp"].to_numpy() == expected["timestamp"].to_numpy()).all()
    # Events: every bar after the 30-bar baseline, in order, as stored.
    stamps = pd.to_datetime([e["bar"]["timestamp"] for e in events], utc=True)
    assert ((stamps[1:] - stamps[:-1]) == pd.Timedelta(minutes=1)).all()
    assert len(stored) - len(events) == 30  # the backfill baseline
    tail = stored.iloc[30:]
    assert list(stamps) == list(tail["timestamp"])
    assert [e["bar"]["close"] for e in events] == tail["close"].tolist()
    assert events[0] == {
        "type": "bar",
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "bar": events[0]["bar"],
        "source": "synthetic",
    }
    assert set(events[0]["bar"]) == {"timestamp", "open", "high", "low", "close", "volume"}
    assert hooks and {(s, tf) for s, tf, _ in hooks} == {("BTC/USDT", "1m")}
    assert sum(n for _, _, n in hooks) == len(events)  # the hook gets exactly the new bars
    assert {tf for tf, _ in ticks} == {"1m"} and all(set(b) == {"BTC/USDT"} for _, b in ticks)
    assert sum(b["BTC/USDT"] for _, b in ticks) == len(events)  # once per tick, the same bars


def test_a_failing_provider_is_retried_and_the_thread_survives(settings: Settings) -> None:
    clock = VirtualClock(START, speed=3600)
    flaky = FlakyProvider(clock.now, settings.data.synthetic_seed)
    feed = LiveFeed(
        settings,
        ["BTC/USDT"],
        "1m",
        clock=clock,
        providers={"synthetic": flaky},
        backfill_bars=5,
        poll_delay=0.0,
    )
    events: list[dict[str, Any]] = []
    feed.subscribe(events.append)
    with feed:
        _wait(lambda: len(events) >= 3)
        flaky.fail = True
        _wait(lambda: feed.stats.errors >= 3)
        assert feed.running
        assert "exchange unavailable" in (feed.stats.last_error or "")
        failed_at = len(events)
        flaky.fail = False
        _wait(lambda: len(events) >= failed_at + 5)  # the next ticks catch up, no gap
    stamps = pd.to_datetime([e["bar"]["timestamp"] for e in events], utc=True)
    assert ((stamps[1:] - stamps[:-1]) == pd.Timedelta(minutes=1)).all()


def test_poll_once_emits_new_bars_in_order_to_current_subscribers(settings: Settings) -> None:
    clock = ManualClock(START)
    feed = LiveFeed(settings, ["BTC/USDT", "ETH/USDT"], "1m", clock=clock, backfill_bars=10)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    unsubscribe = feed.subscribe(first.append)
    feed.subscribe(second.append)

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("subscriber bug")

    feed.subscribe(broken)
    assert feed.poll_once() == []  # the backfill is the baseline
    assert len(open_store(settings).read(KEY)) == 10
    clock.value = START + pd.Timedelta(minutes=3, seconds=30)
    events = feed.poll_once()
    assert [(e["symbol"], e["bar"]["timestamp"]) for e in events] == [
        (sym, f"2025-06-30T12:0{m}:00Z") for sym in ("BTC/USDT", "ETH/USDT") for m in range(3)
    ]
    assert first == second == events  # a failing subscriber does not stop the others
    calls = feed.stats.ticks
    assert feed.poll_once() == [] and feed.stats.ticks == calls + 1  # nothing closed since
    unsubscribe()
    clock.value += pd.Timedelta(minutes=1)
    assert len(feed.poll_once()) == 2
    assert len(first) == 6 and len(second) == 8
    assert price_update(events[0]) == {
        "type": "price_update",
        "symbol": "BTC/USDT",
        "price": events[0]["bar"]["close"],
        "timestamp": "2025-06-30T12:00:00Z",
        "volume": events[0]["bar"]["volume"],
        "timeframe": "1m",
    }


def test_next_tick_waits_for_the_forming_bar_to_close(settings: Settings) -> None:
    clock = ManualClock(START + pd.Timedelta(seconds=30))
    feed = LiveFeed(settings, ["BTC/USDT"], "1m", clock=clock, poll_delay=0.25)
    assert feed.seconds_to_next_tick() == pytest.approx(30 / 60 + 0.25)
    clock.value = pd.Timestamp("2025-06-15T10:00", tz="UTC")
    monthly = LiveFeed(settings, ["BTC/USDT"], "1mo", clock=clock, poll_delay=0.0)
    assert monthly.seconds_to_next_tick() == pytest.approx((15 * 86_400 + 14 * 3600) / 60)


def test_open_live_feed_validates_and_continues_the_stored_replay(settings: Settings) -> None:
    with pytest.raises(InvalidRequestError, match="only the synthetic source"):
        open_live_feed(settings.model_copy(update={"stock_source": "yfinance"}), ["AAPL"], "1m", speed=60)
    with pytest.raises(InvalidRequestError, match="speed must be positive"):
        open_live_feed(settings, ["BTC/USDT"], "1m", speed=0)
    with pytest.raises(InvalidRequestError):
        LiveFeed(settings, [], "1m")
    fresh = open_live_feed(settings, ["BTC/USDT"], "1h", speed=60)
    assert isinstance(fresh.clock, VirtualClock) and fresh.clock.speed == 60
    assert fresh.sources == {"BTC/USDT": REPLAY_SOURCE} and fresh.stored_source("BTC/USDT") is None
    behind = pd.Timestamp.now(tz="UTC") - fresh.clock.start
    assert pd.Timedelta(hours=59 * 24) <= behind <= pd.Timedelta(hours=59 * 24 + 1)  # a day of replay
    stored_end = pd.Timestamp.now(tz="UTC").floor("1min") - pd.Timedelta(days=3)
    clock = ManualClock(stored_end)
    LiveFeed(settings, ["BTC/USDT"], "1m", clock=clock, backfill_bars=3, source=REPLAY_SOURCE).poll_once()
    feed = open_live_feed(settings, ["BTC/USDT"], "1m", speed=60)
    assert feed.clock.start == stored_end  # the last stored replay bar (a minute before) ends there
    assert open_live_feed(settings, ["BTC/USDT"], "1m").clock.speed == 1.0


def test_a_replay_clock_never_passes_the_wall_clock() -> None:
    wall = [pd.Timestamp("2025-06-30T12:00", tz="UTC")]
    ticks = [0.0]
    clock = VirtualClock(
        wall[0] - pd.Timedelta(hours=1), 60, monotonic=lambda: ticks[0], wall=lambda: wall[0]
    )
    ticks[0] = 30.0
    assert clock.now() == wall[0] - pd.Timedelta(minutes=30) and clock.speed == 60
    ticks[0] = 120.0
    assert clock.now() == wall[0] and clock.speed == 1.0


def test_a_sped_up_feed_stores_no_bar_from_the_future(settings: Settings) -> None:
    events: list[dict[str, Any]] = []
    feed = open_live_feed(settings, ["BTC/USDT", "AAPL"], "1m", speed=3600, backfill_bars=20)
    feed.subscribe(events.append)
    with feed:
        _wait(lambda: len(events) >= 30)
    now = pd.Timestamp.now(tz="UTC")
    assert {e["source"] for e in events} == {REPLAY_SOURCE} and feed.stored_source("AAPL") == REPLAY_SOURCE
    stamps = pd.to_datetime([e["bar"]["timestamp"] for e in events if e["symbol"] == "BTC/USDT"], utc=True)
    assert ((stamps[1:] - stamps[:-1]) == pd.Timedelta(minutes=1)).all()  # prices keep moving
    newest = Warehouse(settings).query("SELECT max(timestamp) AS t, count(*) AS n FROM bars")
    assert newest["n"].iloc[0] >= 20 + 30
    assert pd.Timestamp(newest["t"].iloc[0]) + pd.Timedelta(minutes=1) <= now  # closed bars of the past
    assert not open_store(settings).bounds(KEY), "the real synthetic series is untouched"


def test_close_stops_a_waiting_thread_promptly(settings: Settings) -> None:
    feed = LiveFeed(settings, ["BTC/USDT"], "1d", clock=ManualClock(START), backfill_bars=3)
    feed.start()
    _wait(lambda: feed.stats.ticks >= 1)
    began = time.monotonic()
    feed.close()
    assert not feed.running and time.monotonic() - began < 2.0
    assert feed.seconds_to_next_tick() > 600  # it was waiting 12 market hours at speed 60


def test_the_feed_set_follows_the_strategies_series_and_drops_them_again(settings: Settings) -> None:
    clock = ManualClock(START)
    base = LiveFeed(settings, ["BTC/USDT"], "1m", clock=clock, backfill_bars=10, source="synthetic")
    ticks: list[tuple[str, set[str]]] = []
    wired: list[LiveFeed] = []

    def wire(feed: LiveFeed) -> None:
        feed.on_tick = lambda tf, bars: ticks.append((tf, set(bars)))
        wired.append(feed)

    wire(base)
    feeds = FeedSet(base, wire)
    feeds.follow({("ETH_USDT", "1m"), ("BTC/USDT", "1m"), ("BTC/USDT", "5m")})
    assert feeds.carried() == {("BTC/USDT", "1m"), ("ETH/USDT", "1m"), ("BTC/USDT", "5m")}
    extra = wired[-1]
    assert extra is not base and extra.clock is base.clock and extra.running
    extra.close()  # stepped by hand below
    base.poll_once()  # the added symbol's backfill is its baseline, as at start
    clock.value = START + pd.Timedelta(minutes=2, seconds=30)
    assert {e["symbol"] for e in base.poll_once()} == {"BTC/USDT", "ETH/USDT"}
    assert ticks[-1] == ("1m", {"BTC/USDT", "ETH/USDT"})
    extra.poll_once()
    clock.value = START + pd.Timedelta(minutes=10, seconds=30)
    assert {(e["symbol"], e["timeframe"]) for e in extra.poll_once()} == {("BTC/USDT", "5m")}
    feeds.follow(set())  # the last strategies on them gone: the configured series only
    assert feeds.carried() == {("BTC/USDT", "1m")} and feeds.feeds() == [base]
    assert {e["symbol"] for e in base.poll_once()} == {"BTC/USDT"}
