"""The live fan-out over uvicorn with ``FanOutWebSocketProtocol``: frames written straight to sockets.

A real uvicorn server (in a thread of this process, so the test can publish into the app's hub) and
real WebSocket clients. The clients negotiate permessage-deflate, which the direct (uncompressed)
frames must survive.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from pipelines.accounts import register_user
from pipelines.live.hub import CLOSE_OVERFLOW, prediction_topic, price_topic
from pipelines.settings import Settings
from serving.app import create_app
from serving.wsprotocol import FanOutWebSocketProtocol
from tests.net_support import free_port
from tests.serving_support import PASSWORD


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[Any, str, str]]:
    """The app on uvicorn with the fan-out protocol; yields (services, a user's access token)."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws=FanOutWebSocketProtocol, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        services = app.state.services
        username = f"streamer{port}"
        with services.database.transaction() as session:
            register_user(session, username, PASSWORD, tier="enterprise")
        login = httpx.post(
            f"http://127.0.0.1:{port}/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        yield services, f"ws://127.0.0.1:{port}", login.json()["access_token"]
    finally:
        server.should_exit = True
        thread.join(30)


def _json(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(ws.recv(timeout=10))
    assert isinstance(message, dict)
    return message


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_streams_are_written_directly_and_arrive_in_order(trained_home: Settings) -> None:
    with serve(trained_home) as (services, base, token):
        hub, topic = services.live.hub, prediction_topic("lgbm_aapl", "AAPL")
        with ExitStack() as stack:
            url = f"{base}/api/v1/ws/predictions/lgbm_aapl/AAPL?token={token}"
            streams = [stack.enter_context(connect(url)) for _ in range(3)]
            assert all(ws.protocol.extensions for ws in streams)  # permessage-deflate negotiated
            firsts = []
            for ws in streams:
                assert _json(ws)["type"] == "authenticated"
                firsts.append(_json(ws))  # the current prediction comes before any update
            assert {f["type"] for f in firsts} == {"prediction_update"}
            _wait(
                lambda: len(hub.subscriptions(topic)) == 3 and all(s.direct for s in hub.subscriptions(topic))
            )
            for _ in range(3):
                services.live.on_new_bars("AAPL", "1d")  # what the feed calls on a new bar
            updates = [[_json(ws) for _ in range(3)] for ws in streams]
            # One computation per bar, the same message for everyone, in publish order.
            assert updates[0] == updates[1] == updates[2]
            assert [u["type"] for u in updates[0]] == ["prediction_update"] * 3
            assert [u["sent_at"] for u in updates[0]] == sorted(u["sent_at"] for u in updates[0])
            streams[0].send(json.dumps({"action": "ping"}))  # the ASGI path still works beside them
            assert _json(streams[0])["type"] == "pong"
        _wait(lambda: hub.subscriber_count(topic) == 0)  # closed streams detach

        with connect(f"{base}/ws?token={token}") as channel:
            assert _json(channel)["type"] == "authenticated"
            channel.send(json.dumps({"action": "subscribe", "channels": ["market_data"], "symbols": ["SPY"]}))
            assert _json(channel)["type"] == "subscribed"
            assert all(s.direct for s in hub.subscriptions(price_topic("SPY")))
            hub.publish(price_topic("SPY"), {"type": "price_update", "symbol": "SPY", "price": 1.5})
            assert _json(channel) == {"type": "price_update", "symbol": "SPY", "price": 1.5}


def test_a_slow_direct_subscriber_is_closed_and_the_others_get_everything(trained_home: Settings) -> None:
    with serve(trained_home.model_copy(update={"ws_queue_size": 4})) as (services, base, token):
        hub, topic = services.live.hub, price_topic("SPY")
        url = f"{base}/api/v1/ws/prices/SPY?token={token}"
        with connect(url) as fast, connect(url, max_queue=1) as slow:  # slow: stops reading at 1 message
            for ws in (fast, slow):
                assert _json(ws)["type"] == "authenticated"
                assert _json(ws)["type"] == "price_update"
            _wait(
                lambda: len(hub.subscriptions(topic)) == 2 and all(s.direct for s in hub.subscriptions(topic))
            )
            subs = hub.subscriptions(topic)
            pad = "x" * 16_000
            sent = 0
            while subs[1].close_code is None:
                assert sent < 5_000, "the slow subscriber was never closed"
                hub.publish(topic, {"type": "price_update", "seq": sent, "pad": pad})
                assert _json(fast)["seq"] == sent  # the fast one keeps up, message by message
                sent += 1
            assert subs[1].close_code == CLOSE_OVERFLOW and "slow consumer" in (subs[1].close_reason or "")
            assert subs[0].close_code is None  # nobody else is affected
            hub.publish(topic, {"type": "price_update", "seq": sent, "pad": pad})
            assert _json(fast)["seq"] == sent
            # The slow client, reading at last, gets what was written and then the close with the reason.
            seqs = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    seqs.append(json.loads(slow.recv(timeout=10))["seq"])
            assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_OVERFLOW
            assert "slow consumer" in closed.value.rcvd.reason
            assert seqs == list(range(sent))  # all it was sent before the close, in order; none after
