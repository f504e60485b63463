"""uvicorn's sans-I/O WebSocket protocol, plus a frame sink per connection for the live fan-out.

Each accepted connection's ASGI scope carries ``scope["extensions"]["tradeforge.websocket.frames"]``:
a ``FrameSink`` that writes an already framed message (``pipelines.live.hub.text_frame``) straight
to the connection's transport. The hub writes one publish's frame to every subscriber in one loop,
so a subscriber costs one ``transport.write`` instead of a queue hand-off, a task switch and an
ASGI send (see ``pipelines/live/hub.py``). Everything else (handshake, receive, ASGI sends, pings,
close) is uvicorn's own. Under another server (the test client) the extension is absent and the
streams use their queues.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

__all__ = ["FRAMES_EXTENSION", "FanOutWebSocketProtocol"]

FRAMES_EXTENSION = "tradeforge.websocket.frames"


class _Sink:
    """Writes frames to one connection while it is open (``pipelines.live.hub.FrameSink``)."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write_frame(self, frame: bytes) -> int | None:
        p = self._protocol
        transport = p.transport
        # Not after the app's close or the peer's (the hub attaches a sink only once the app has
        # accepted the connection and sent on it, so the handshake is done).
        if p.close_sent or transport.is_closing():
            return None
        transport.write(frame)
        return transport.get_write_buffer_size()


class FanOutWebSocketProtocol(WebSocketsSansIOProtocol):
    """``ws=`` for uvicorn: the sans-I/O protocol with a frame sink in each connection's scope."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # the scope exists; the app has not started yet
            # uvicorn types each extension as a dict; this one is an object the app calls.
            self.scope["extensions"][FRAMES_EXTENSION] = _Sink(self)  # type: ignore[assignment]
