"""The live fan-out over uvicorn with ``FanOutWebSocketProtocol``: frames written straight to sockets.

A real uvicorn server (in a thread of this process, so the test can publish into the app's hub) and
real WebSocket clients. The clients negotiate permessage-deflate, which the direct (uncompressed)
frames must survive.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader
from websockets.sync.client import ClientConnection, connect

from pipelines.app.accounts import register_user
from pipelines.live.hub import CLOSE_OVERFLOW, prediction_topic, price_topic
from pipelines.settings import Settings
from serving.app import create_app
from serving.wsprotocol import FanOutWebSocketProtocol
from tests.serving_support import PASSWORD, uvicorn_thread


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[Any, str, str]]:
    """The app on uvicorn with the fan-out protocol; yields (services, a user's access token)."""
    app = create_app(settings)
    with uvicorn_thread(app, ws=FanOutWebSocketProtocol, lifespan="on") as port:
        services = app.state.container
        username = f"streamer{port}"
        with services.database.transaction() as session:
            register_user(session, username, PASSWORD, tier="enterprise")
        login = httpx.post(
            f"http://127.0.0.1:{port}/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        yield services, f"ws://127.0.0.1:{port}", login.json()["access_token"]


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


def _raw_client(base: str, path: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads (a stalled consumer);
    its small receive buffer keeps what the kernel absorbs for it small."""
    host, port = base.removeprefix("ws://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


def _drain_frames(sock: socket.socket) -> tuple[list[str], Frame]:
    """Everything the server sent after the handshake: the text messages and the close frame."""
    sock.settimeout(10)
    data = bytearray()
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    data = data[data.index(b"\r\n\r\n") + 4 :]
    texts: list[str] = []
    while True:
        reader = StreamReader()
        reader.feed_data(bytes(data))
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frame: Frame = done.value
            data = data[len(data) - len(reader.buffer) :] if reader.buffer else bytearray()
            if frame.opcode == Opcode.CLOSE:
                return texts, frame
            texts.append(frame.data.decode())
            continue
        chunk = sock.recv(1 << 20)  # the frame is not complete yet
        assert chunk, "the server closed the socket without a close frame"
        data += chunk


def test_a_slow_direct_subscriber_is_closed_and_the_others_get_everything(trained_home: Settings) -> None:
    with serve(trained_home.model_copy(update={"ws_queue_size": 4})) as (services, base, token):
        hub, topic = services.live.hub, price_topic("SPY")
        path = f"/api/v1/ws/prices/SPY?token={token}"
        with connect(base + path) as fast:
            assert _json(fast)["type"] == "authenticated"
            assert _json(fast)["type"] == "price_update"
            _wait(lambda: [s.direct for s in hub.subscriptions(topic)] == [True])
            fast_sub = hub.subscriptions(topic)[0]
            slow = _raw_client(base, path)
            try:
                _wait(
                    lambda: (
                        len(hub.subscriptions(topic)) == 2 and all(s.direct for s in hub.subscriptions(topic))
                    )
                )
                slow_sub = next(s for s in hub.subscriptions(topic) if s is not fast_sub)
                pad = "x" * 16_000
                sent = 0
                while slow_sub.close_code is None:
                    assert sent < 5_000, "the slow subscriber was never closed"
                    hub.publish(topic, {"type": "price_update", "seq": sent, "pad": pad})
                    assert _json(fast)["seq"] == sent  # the fast one keeps up, message by message
                    sent += 1
                assert slow_sub.close_code == CLOSE_OVERFLOW and "slow consumer" in (
                    slow_sub.close_reason or ""
                )
                assert fast_sub.close_code is None  # nobody else is affected
                hub.publish(topic, {"type": "price_update", "seq": sent, "pad": pad})
                assert _json(fast)["seq"] == sent
                # The stalled client, reading at last, gets what was written, then the close and its reason.
                texts, close = _drain_frames(slow)
            finally:
                slow.close()
        messages = [json.loads(t) for t in texts]
        assert [m["type"] for m in messages[:2]] == ["authenticated", "price_update"]
        assert [m["seq"] for m in messages[2:]] == list(range(sent))  # in order, none after the close
        code, reason = int.from_bytes(close.data[:2], "big"), close.data[2:].decode()
        assert code == CLOSE_OVERFLOW and "slow consumer" in reason
        metrics = httpx.get(base.replace("ws://", "http://") + "/metrics").text
        assert "tradeforge_ws_slow_consumers_total 1.0" in metrics
