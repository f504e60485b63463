"""Trading events for the per-user WebSocket channel (``trading``): an order filled, a trade
closed, a portfolio changed.

``publish_trading_event(user_id, kind, payload)`` is what the trading core calls, from any thread of
any worker process. It publishes through the hub this process installed (``install_trading_hub``;
the API installs its live hub at start): with Redis configured that is a ``RedisHub``, so every
worker's subscribers get the event; otherwise the in-process ``LocalHub``. Each event goes to the
user's topic and to the topic of everyone's events (which only admins may follow). Publishing never
raises into the trading code: a hub that fails (Redis down) is logged and the event dropped, as
live streams are; a process with no hub installed drops events silently.

The message: ``{"type": <kind>, "channel": "trading", "user_id", "data": <payload>, "timestamp"}``;
decimals in the payload are written as strings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipelines.db.types import isoformat_utc
from pipelines.live.hub import Hub

__all__ = [
    "ALL_TRADING_TOPIC",
    "TRADING_CHANNEL",
    "TRADING_EVENT_KINDS",
    "install_trading_hub",
    "publish_trading_event",
    "trading_event",
    "trading_topic",
    "uninstall_trading_hub",
]

log = logging.getLogger(__name__)

TRADING_CHANNEL = "trading"
TRADING_EVENT_KINDS = ("order_filled", "trade_closed", "portfolio_changed")
ALL_TRADING_TOPIC = "trading:all"

_lock = threading.Lock()
_hubs: list[Hub] = []  # installed, newest last (several apps may live in one process: tests)


def trading_topic(user_id: str) -> str:
    """The hub topic of one user's trading events."""
    return f"trading:user:{user_id}"


def trading_event(user_id: str, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The WebSocket message of one event (``kind`` one of ``TRADING_EVENT_KINDS``)."""
    if kind not in TRADING_EVENT_KINDS:
        raise ValueError(f"unknown trading event {kind!r}; kinds: {', '.join(TRADING_EVENT_KINDS)}")
    if not user_id:
        raise ValueError("a trading event needs the user id it belongs to")
    return {
        "type": kind,
        "channel": TRADING_CHANNEL,
        "user_id": user_id,
        "data": dict(payload),
        "timestamp": isoformat_utc(datetime.now(UTC)),
    }


def install_trading_hub(hub: Hub) -> None:
    """Publish this process's trading events through ``hub`` (until it is uninstalled)."""
    with _lock:
        _hubs.append(hub)


def uninstall_trading_hub(hub: Hub) -> None:
    """Stop publishing through ``hub``; the hub installed before it, if any, takes over again."""
    with _lock:
        if hub in _hubs:
            _hubs.remove(hub)


def publish_trading_event(user_id: str, kind: str, payload: Mapping[str, Any]) -> bool:
    """Send ``kind`` (order_filled, trade_closed, portfolio_changed) with ``payload`` to
    ``user_id``'s trading channel and to admins following everyone's; True once handed to the hub.

    Thread-safe; never raises for a hub failure (False, logged). A bad ``kind`` or an empty
    ``user_id`` is a programming error: ``ValueError``."""
    message = trading_event(user_id, kind, payload)
    with _lock:
        hub = _hubs[-1] if _hubs else None
    if hub is None:
        return False
    try:
        hub.publish(trading_topic(user_id), message)
        hub.publish(ALL_TRADING_TOPIC, message)
    except Exception as exc:  # Redis unreachable: the trading must go on
        log.warning("could not publish trading event %s: %s", kind, type(exc).__name__)
        return False
    return True
