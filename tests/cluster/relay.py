"""A TCP relay for the cluster test's store host: ``python -m tests.cluster.relay NETNS ADDRESS PORT...``.

Started in the machine's own network namespace, it enters the namespace ``NETNS`` just long enough to
open its listening sockets on ``ADDRESS:PORT`` there, then returns: a socket keeps the namespace it was
made in, so the store host's address answers on each port while every connection accepted is carried
to ``127.0.0.1:PORT`` of the machine (where PostgreSQL, Redis and RabbitMQ listen). A process that
merely ran inside the store namespace could not reach the machine's loopback at all. Prints ``ready``
once it listens; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import sys

_CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def listen_in(netns: str, address: str, ports: list[int]) -> list[socket.socket]:
    """Listening sockets on ``address:port`` inside the namespace ``netns`` (this thread comes back)."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            return [socket.create_server((address, port), backlog=256) for port in ports]
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(target)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


def _handler(port: int) -> object:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))

    return handle


async def _serve(listeners: list[socket.socket]) -> None:
    servers = [
        await asyncio.start_server(_handler(s.getsockname()[1]), sock=s)  # type: ignore[arg-type]
        for s in listeners
    ]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str]) -> None:
    netns, address, *ports = argv
    asyncio.run(_serve(listen_in(netns, address, [int(p) for p in ports])))


if __name__ == "__main__":
    main(sys.argv[1:])
