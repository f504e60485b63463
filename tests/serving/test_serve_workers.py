"""``tradeforge serve --workers N``: each worker on its own ``SO_REUSEPORT`` socket, so connections
opened at once spread over the workers, and a killed worker is replaced on its socket."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psutil
import pytest

from pipelines.cli.serve_workers import reuse_port_sockets
from tests.net_support import free_port, wait_http
from tests.serving_support import SECRET

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")

CONNECTIONS = 32  # the chance that either of two workers gets fewer than 4 of them is about 1e-6


def test_the_sockets_share_one_port_that_a_plain_bind_cannot_take() -> None:
    sockets = reuse_port_sockets("127.0.0.1", 0, 3, 16)
    try:
        ports = {s.getsockname()[1] for s in sockets}
        assert len(ports) == 1 and 0 not in ports
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in sockets)
        with closing(socket.socket()) as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", ports.pop()))
    finally:
        for s in sockets:
            s.close()


@contextmanager
def _serving(home: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "TRADEFORGE_HOME": str(home), "TRADEFORGE_SECRET_KEY": SECRET}
    exe = Path(sys.executable).with_name("tradeforge")
    cmd = [str(exe), "serve", "--port", str(port), "--workers", "2"]
    with (home.parent / "serve.log").open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/health/live", proc).status_code == 200
        said = (home.parent / "serve.log").read_text()
        assert f"running on http://127.0.0.1:{port}" in said, said[-2000:]  # where to point a browser
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _workers(proc: subprocess.Popen[bytes], port: int) -> dict[int, set[int]]:
    """Each worker (a child listening on ``port``) with the client ports of its established connections."""
    found: dict[int, set[int]] = {}
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            conns = child.net_connections("tcp")
        except psutil.NoSuchProcess:  # a worker that has just ended (killed, or replaced)
            continue
        with_port = [c for c in conns if c.laddr and c.laddr.port == port]
        if any(c.status == psutil.CONN_LISTEN for c in with_port):
            open_ = [c for c in with_port if c.status == psutil.CONN_ESTABLISHED and c.raddr]
            found[child.pid] = {c.raddr.port for c in open_}
    return found


def _spread(proc: subprocess.Popen[bytes], port: int) -> dict[int, int]:
    """How many of ``CONNECTIONS`` kept-alive connections, opened at once, each worker accepted: each
    connection's worker is read as soon as its answer arrives (a worker that is still starting answers
    its share late, and an idle connection is closed after 5 s)."""
    clients = [socket.create_connection(("127.0.0.1", port), timeout=90) for _ in range(CONNECTIONS)]
    taken: dict[int, int] = {}
    try:
        for c in clients:
            c.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        waiting, deadline = list(clients), time.monotonic() + 90
        while waiting:
            ready, _, _ = select.select(waiting, [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"{len(waiting)} connections unanswered"
            for c in ready:
                assert c.recv(4096).startswith(b"HTTP/1.1 200")
                mine = c.getsockname()[1]
                (pid,) = [pid for pid, ports in _workers(proc, port).items() if mine in ports]
                taken[pid] = taken.get(pid, 0) + 1
                waiting.remove(c)
    finally:
        for c in clients:
            c.close()
    return taken


def test_connections_opened_at_once_spread_over_the_workers_and_a_killed_worker_is_replaced(
    tmp_path: Path,
) -> None:
    port = free_port()
    with _serving(tmp_path / "home", port) as proc:
        spread = _spread(proc, port)
        assert len(spread) == 2, spread
        assert min(spread.values()) >= 4 and sum(spread.values()) == CONNECTIONS, spread

        killed = min(spread)
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while len(now := _workers(proc, port)) < 2 or killed in now:
            assert proc.poll() is None and time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.5)
        after = _spread(proc, port)  # the replacement's connections wait in its socket until it starts
        assert killed not in after and len(after) == 2, after
        assert min(after.values()) >= 4, f"the replacement took {after} of {CONNECTIONS} connections"

        proc.send_signal(signal.SIGHUP)  # every worker replaced, one by one, the port served throughout
        while set(_workers(proc, port)) & set(after) or len(_workers(proc, port)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline + 120, "SIGHUP did not restart"
            assert wait_http(f"http://127.0.0.1:{port}/health/live", proc).status_code == 200
            time.sleep(0.5)
        assert min(_spread(proc, port).values()) >= 4


def test_a_taken_port_is_refused_even_by_a_server_that_shares_it(tmp_path: Path) -> None:
    """Another group of ``SO_REUSEPORT`` sockets (a server already running with ``--workers``) would
    accept a new member silently; the port is checked with a plain bind first."""
    taken = reuse_port_sockets("127.0.0.1", 0, 2, 16)
    port = taken[0].getsockname()[1]
    env = {**os.environ, "TRADEFORGE_HOME": str(tmp_path / "home"), "TRADEFORGE_SECRET_KEY": SECRET}
    exe = Path(sys.executable).with_name("tradeforge")
    try:
        done = subprocess.run(
            [str(exe), "serve", "--port", str(port), "--workers", "2"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        for s in taken:
            s.close()
    assert done.returncode == 1
    assert "address already in use" in done.stderr.lower() and str(port) in done.stderr
