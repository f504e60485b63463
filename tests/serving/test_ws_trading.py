"""The per-user WebSocket channel of trading events through the real app: each user gets only their
own events, an admin everyone's, anonymous callers nothing; across two workers through Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect

from pipelines.trading.events import publish_trading_event
from tests.net_support import NO_REDIS, REDIS_URL, redis_up
from tests.serving_support import app_client, make_user, served_settings


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with app_client(served_settings(Path(tmp_path_factory.mktemp("wstrading")) / "home")) as c:
        yield c


def _token(user: dict[str, Any]) -> str:
    return str(user["headers"]["Authorization"].split()[1])


def _follow(ws: Any, user: dict[str, Any], **extra: Any) -> dict[str, Any]:
    ws.send_json({"action": "auth", "token": _token(user)})
    assert ws.receive_json()["type"] == "authenticated"
    ws.send_json({"action": "subscribe", "channels": ["trading"], **extra})
    ack: dict[str, Any] = ws.receive_json()
    assert ack["type"] == "subscribed" and ack["channels"] == ["trading"], ack
    return ack


def _in_thread(*events: tuple[str, str, dict[str, Any]]) -> None:
    """Publish from a background thread, as the trading core does."""
    thread = threading.Thread(target=lambda: [publish_trading_event(*e) for e in events])
    thread.start()
    thread.join()


def test_each_user_gets_only_their_events_and_an_admin_everyones(app: Any) -> None:
    alice, bob, admin = make_user(app), make_user(app), make_user(app, role="admin")
    with (
        app.websocket_connect("/api/v1/ws/live") as a,
        app.websocket_connect("/ws") as b,
        app.websocket_connect("/api/v1/ws/live") as root,
    ):
        assert _follow(a, alice)["topics"] == [f"trading:user:{alice['id']}"]
        _follow(b, bob)
        _follow(root, admin, all_users=True)
        fill = {"order_id": "o-1", "symbol": "BTC/USDT", "price": Decimal("42000.50"), "amount": "0.01"}
        _in_thread(
            (alice["id"], "order_filled", fill),
            (bob["id"], "trade_closed", {"trade_id": "t-9", "pnl": Decimal("-3.20")}),
        )
        got = a.receive_json()
        assert got["type"] == "order_filled" and got["channel"] == "trading"
        assert got["user_id"] == alice["id"] and got["data"]["price"] == "42000.50"
        assert b.receive_json()["data"] == {"trade_id": "t-9", "pnl": "-3.20"}
        seen = [root.receive_json(), root.receive_json()]
        assert [(m["type"], m["user_id"]) for m in seen] == [
            ("order_filled", alice["id"]),
            ("trade_closed", bob["id"]),
        ]
        # Nothing else reached Alice: the next message she gets is her own pong.
        a.send_json({"action": "ping"})
        assert a.receive_json()["type"] == "pong"
        b.send_json({"action": "ping"})
        assert b.receive_json()["type"] == "pong"


def test_others_events_are_refused_and_anonymous_callers_closed(app: Any) -> None:
    alice, bob, admin = make_user(app), make_user(app), make_user(app, role="admin")
    with app.websocket_connect("/api/v1/ws/live") as ws:
        _follow(ws, alice)
        for extra in ({"all_users": True}, {"user_id": bob["id"]}):
            ws.send_json({"action": "subscribe", "channels": ["trading"], **extra})
            assert ws.receive_json()["error"]["code"] == "FORBIDDEN"
        ws.send_json({"action": "unsubscribe", "channels": ["trading"]})
        assert ws.receive_json()["type"] == "unsubscribed"
        _in_thread((alice["id"], "portfolio_changed", {"equity": "1000"}))
        ws.send_json({"action": "ping"})
        assert ws.receive_json()["type"] == "pong"  # unsubscribed: the event did not come
    with app.websocket_connect("/api/v1/ws/live") as ws:
        assert _follow(ws, admin, user_id=bob["id"])["topics"] == [f"trading:user:{bob['id']}"]
        _in_thread((alice["id"], "order_filled", {}), (bob["id"], "portfolio_changed", {"equity": "5"}))
        assert ws.receive_json()["user_id"] == bob["id"]
    with pytest.raises(WebSocketDisconnect), app.websocket_connect("/api/v1/ws/live") as ws:
        ws.send_json({"action": "subscribe", "channels": ["trading"]})
        assert ws.receive_json()["error"]["code"] == "UNAUTHORIZED"
        ws.receive_json()  # closed
    with pytest.raises(ValueError, match="unknown trading event"):
        publish_trading_event(alice["id"], "order_placed", {})


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_events_reach_every_worker_through_redis(tmp_path: Path) -> None:
    """Two app instances (two workers) on one Redis: an event published in one worker's process
    reaches the user connected to the other, and an admin connected to the first."""
    settings = served_settings(tmp_path / "home", redis_url=REDIS_URL)
    with app_client(settings) as first, app_client(settings) as second:
        alice, admin = make_user(first), make_user(first, role="admin")
        with second.websocket_connect("/ws") as a, first.websocket_connect("/ws") as root:
            _follow(a, alice)
            _follow(root, admin, all_users=True)
            # The second app started last, so its hub publishes; the event crosses Redis either way.
            _in_thread((alice["id"], "trade_closed", {"trade_id": "t-1", "pnl": "12.5"}))
            got = a.receive_json()
            assert got["type"] == "trade_closed" and got["data"]["pnl"] == "12.5"
            assert root.receive_json()["user_id"] == alice["id"]
