"""The live side of the app: the fan-out hub, the optional live feed, and prediction updates.

A new bar from the feed goes to ``prices:<symbol>`` (``price_update``) and, for every model
someone watches on that symbol, invalidates the cached feature row and publishes one
``prediction_update`` to ``predictions:<model>:<symbol>``: computed once, serialized once, whatever
the number of subscribers."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from pipelines.data.symbols import parse_symbol
from pipelines.errors import TradeforgeError
from pipelines.live import LiveFeed, open_hub, open_live_feed, price_update
from pipelines.live.feeds import FeedSet, Series
from pipelines.live.hub import prediction_topic, price_topic
from pipelines.prediction import Predictor
from pipelines.settings import Settings
from serving.responses import now_stamp

__all__ = ["BarsListener", "LiveService", "TickListener", "prediction_update"]

BarsListener = Callable[[str, str, pd.DataFrame | None], None]  # symbol, timeframe, the new bars
TickListener = Callable[[str, Mapping[str, pd.DataFrame]], None]  # timeframe, a tick's new bars by symbol

log = logging.getLogger("tradeforge.serving.live")


def prediction_update(p: dict[str, Any]) -> dict[str, Any]:
    """The ``prediction_update`` message (signal, confidence, recommendation, price, value, direction)
    for a prediction's ``as_dict()``."""
    return {
        "type": "prediction_update",
        "model_name": p["model_name"],
        "symbol": p["symbol"],
        "signal": p["signal"],
        "confidence": p["confidence"],
        "recommendation": p["recommendation"],
        "current_price": p["current_price"],
        "value": p["value"],
        "direction": p["direction"],
        "timestamp": p["timestamp"],
        "sent_at": now_stamp(),
    }


class LiveService:
    def __init__(self, settings: Settings, predictions: Predictor) -> None:
        self.settings = settings
        self.predictions = predictions
        self.hub = open_hub(settings.redis_url, queue_size=settings.live.ws_queue_size)
        self.feed: LiveFeed | None = None  # the configured feed
        self.feeds: FeedSet | None = None  # it and the feeds of the series strategies follow
        self.bar_listeners: list[BarsListener] = []  # told of a symbol's stored bars first
        self.tick_listeners: list[TickListener] = []  # told of a whole tick's bars (the strategy runners)
        self._watched: Counter[tuple[str, str]] = Counter()  # (model, symbol) -> open streams
        self._lock = threading.Lock()

    async def start(self, *, run_feed: bool = True) -> None:
        """Start the hub; the feed too when configured and ``run_feed`` (one process per home runs it)."""
        await self.hub.start()
        if self.settings.live.live_speed is not None and run_feed:
            symbols = self.settings.live.live_symbols or [u.symbol for u in self.settings.data.universe]
            speed = None if self.settings.live.live_speed == 1.0 else self.settings.live.live_speed
            self.feed = open_live_feed(
                self.settings,
                symbols,
                self.settings.live.live_timeframe,
                speed=speed,
                on_new_bars=self.on_new_bars,
            )
            self._wire(self.feed)
            self.feeds = FeedSet(self.feed, self._wire)
            self.feed.start()

    def _wire(self, feed: LiveFeed) -> None:
        feed.on_tick = self.on_tick
        feed.subscribe(self.on_bar)

    def follow(self, series: Iterable[Series]) -> None:
        """Carry these (symbol, timeframe) series besides the configured ones (the active strategies'),
        where this process runs the feed."""
        if self.feeds is not None:
            self.feeds.follow(series)

    async def close(self) -> None:
        if self.feeds is not None:
            self.feeds.close()
        await self.hub.close()

    def source_of(self, symbol: str) -> str | None:
        """The source a feed stores ``symbol`` under (a replay's own) once stored; None: the default."""
        if self.feeds is None:
            return None
        try:
            name = parse_symbol(symbol).name
        except TradeforgeError:  # a bad symbol: the prediction reports it
            return None
        return next((s for f in self.feeds.feeds() if (s := f.stored_source(name)) is not None), None)

    # -- from the feed's thread ---------------------------------------------------------------------
    def on_bar(self, event: dict[str, Any]) -> None:
        self.hub.publish(price_topic(event["symbol"]), price_update(event))

    def on_tick(self, timeframe: str, bars: Mapping[str, pd.DataFrame]) -> None:
        """A feed tick stored these symbols' bars: the tick listeners step (strategies trade, each
        user's orders of the tick in one transaction)."""
        for listener in self.tick_listeners:
            try:
                listener(timeframe, bars)
            except Exception:
                log.exception("a tick listener failed")

    def on_new_bars(self, symbol: str, timeframe: str, bars: pd.DataFrame | None = None) -> None:
        """Bars of ``symbol`` were stored: the listeners step (strategies trade), then its features are
        refreshed and the watched predictions published."""
        for listener in self.bar_listeners:
            try:
                listener(symbol, timeframe, bars)
            except Exception:
                log.exception("a new-bars listener failed for %s", symbol)
        if bars is None:
            self.predictions.invalidate(symbol, timeframe)
        else:
            self.predictions.extend(symbol, timeframe, bars, self.source_of(symbol))
        with self._lock:
            watched = [key for key, n in self._watched.items() if n > 0 and key[1] == symbol]
        for model, sym in watched:
            self.publish_prediction(model, sym)

    def publish_prediction_now(self, model: str, symbol: str, publish: bool = True) -> dict[str, Any]:
        """The prediction update of ``model`` on ``symbol`` now (errors raised), also published."""
        prediction = self.predictions.predict(model, symbol, source=self.source_of(symbol))
        message = prediction_update(prediction.as_dict())
        if publish:
            self.hub.publish(prediction_topic(model, symbol), message)
        return message

    def publish_prediction(self, model: str, symbol: str) -> dict[str, Any] | None:
        try:
            prediction = self.predictions.predict(model, symbol, source=self.source_of(symbol))
            message = prediction_update(prediction.as_dict())
        except TradeforgeError as exc:
            log.warning("no prediction update for %s on %s: %s", model, symbol, exc)
            return None
        self.hub.publish(prediction_topic(model, symbol), message)
        return message

    # -- watch bookkeeping (which predictions to recompute on a new bar) ---------------------------
    def watch(self, model: str, symbol: str) -> None:
        with self._lock:
            self._watched[(model, symbol)] += 1

    def unwatch(self, model: str, symbol: str) -> None:
        with self._lock:
            self._watched[(model, symbol)] -= 1
            if self._watched[(model, symbol)] <= 0:
                del self._watched[(model, symbol)]
