"""The WebSocket benchmark's client (bench_websocket.py): many connections on one epoll, with its
own minimal RFC 6455 client (handshake, unmasked server frames, pong, close) over raw sockets.

``SO_TIMESTAMPNS`` makes the kernel stamp each received segment with the real-time clock, so a
delivery time is when the server's ``send`` reached the subscriber's socket (loopback), not when
this client got round to reading it; the user-space read time is recorded beside it.
"""

from __future__ import annotations

import base64
import os
import select
import socket
import struct
import time
from contextlib import suppress
from dataclasses import dataclass, field

from _processes import HOST

__all__ = ["Client", "Conn"]

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export it


@dataclass
class Conn:
    index: int
    sock: socket.socket
    kind: str  # "prediction" | "price"
    open: bool = False
    texts: int = 0  # text frames received
    buf: bytearray = field(default_factory=bytearray)
    close: tuple[int, str] | None = None


def _handshake(port: int, path: str) -> socket.socket:
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    sock.setblocking(False)
    return sock


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class Client:
    """Many WebSocket connections on one epoll; records (conn, kernel time, user time, payload)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.recording = False
        self.records: list[tuple[int, float, float, bytes]] = []
        self.frames = 0
        self.user_seconds = 0.0  # this process's time spent reading and parsing

    def connect(self, kind: str, path: str, count: int, in_flight: int = 32) -> list[Conn]:
        """Open ``count`` streams of ``path`` (labelled ``kind``); returns once each sent two messages."""
        made: list[Conn] = []
        deadline = time.monotonic() + 60 + count * 0.2
        while len(made) < count or not all(c.texts >= 2 or c.close for c in made):
            pending = sum(1 for c in made if c.texts < 2 and not c.close)
            while len(made) < count and pending < in_flight:
                sock = _handshake(self.port, path)
                conn = Conn(len(self.conns), sock, kind)
                self.conns[sock.fileno()] = conn
                self.epoll.register(sock.fileno(), select.EPOLLIN)
                made.append(conn)
                pending += 1
            self.poll(0.01)
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {sum(c.texts >= 2 for c in made)} of {count} {kind} streams opened")
        failed = [c.close for c in made if c.close]
        if failed:
            raise RuntimeError(f"{len(failed)} {kind} streams were closed while opening: {failed[:3]}")
        return made

    def poll(self, timeout: float) -> None:
        for fd, _ in self.epoll.poll(timeout):
            conn = self.conns.get(fd)
            if conn is not None:
                self._read(conn)

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.poll(min(left, 0.1))

    def _read(self, conn: Conn) -> None:
        t0 = time.perf_counter()
        try:
            data, anc, _, _ = conn.sock.recvmsg(1 << 16, socket.CMSG_SPACE(16))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._drop(conn, (1006, repr(exc)))
            return
        user_ts = time.time()
        kernel_ts = user_ts
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = struct.unpack("qq", raw[:16])
                kernel_ts = sec + nsec * 1e-9
        if not data:
            self._drop(conn, conn.close or (1006, "connection closed"))
            return
        conn.buf += data
        if not conn.open:
            end = conn.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not conn.buf.startswith(b"HTTP/1.1 101"):
                self._drop(conn, (0, bytes(conn.buf[:200]).decode("latin-1")))
                return
            del conn.buf[: end + 4]
            conn.open = True
        self._frames(conn, kernel_ts, user_ts)
        self.user_seconds += time.perf_counter() - t0

    def _frames(self, conn: Conn, kernel_ts: float, user_ts: float) -> None:
        buf = conn.buf
        while len(buf) >= 2:
            opcode, size, head = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if size == 126:
                if len(buf) < 4:
                    return
                size, head = struct.unpack_from(">H", buf, 2)[0], 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size, head = struct.unpack_from(">Q", buf, 2)[0], 10
            if len(buf) < head + size:
                return
            payload = bytes(buf[head : head + size])
            del buf[: head + size]
            if opcode == 0x1:
                conn.texts += 1
                self.frames += 1
                if self.recording:
                    self.records.append((conn.index, kernel_ts, user_ts, payload))
            elif opcode == 0x9:
                conn.sock.sendall(_masked(0xA, payload))
            elif opcode == 0x8:
                code = struct.unpack_from(">H", payload)[0] if len(payload) >= 2 else 1005
                conn.close = (code, payload[2:].decode("utf-8", "replace"))

    def _drop(self, conn: Conn, why: tuple[int, str]) -> None:
        conn.close = conn.close or why
        fd = conn.sock.fileno()
        if fd >= 0 and self.conns.pop(fd, None) is not None:
            with suppress(OSError):
                self.epoll.unregister(fd)
            conn.sock.close()

    def close_all(self) -> None:
        for conn in list(self.conns.values()):
            with suppress(OSError):
                conn.sock.sendall(_masked(0x8, struct.pack(">H", 1000)))
            self._drop(conn, (1000, "client closed"))
        self.epoll.close()
