"""Live data: the market feed that appends closing bars, and the hub that fans messages out."""

from pipelines.live.feed import LiveFeed, VirtualClock, WallClock, open_live_feed, price_update
from pipelines.live.hub import LocalHub, Subscription, SubscriptionClosed
from pipelines.live.redis_hub import RedisHub, open_hub

__all__ = [
    "LiveFeed",
    "LocalHub",
    "RedisHub",
    "Subscription",
    "SubscriptionClosed",
    "VirtualClock",
    "WallClock",
    "open_hub",
    "open_live_feed",
    "price_update",
]
