"""``tradeforge serve --workers N``: uvicorn's worker processes, each on a listening socket of its own.

uvicorn's own process manager shares one listening socket among its workers, and whichever worker
wakes first accepts every connection waiting: a client that opens its pool at once (a proxy, a
trading bot, a load test) lands all its kept-alive connections on one worker while the others idle.
Here each worker listens on its own socket bound to the same address with ``SO_REUSEPORT``, so the
kernel spreads new connections evenly over the workers. The manager is uvicorn's in all else: its
``Process`` (spawned, health-checked through a pipe), a worker that dies is replaced on the same
socket, one that fails to start stops the server, SIGHUP replaces the workers one by one, SIGINT or
SIGTERM stops every worker.
Without ``SO_REUSEPORT`` (not Linux) uvicorn's shared socket is kept.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import FrameType

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Process

__all__ = ["WorkerProcesses", "reuse_port_sockets"]

log = logging.getLogger("uvicorn.error")
_READY_SECONDS = 120.0  # a new worker's app start (stores opened, models' registry read) on a busy host


def reuse_port_sockets(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port`` in one ``SO_REUSEPORT`` group (port 0: the port the
    first is given). OSError when the address is taken, by any socket: a server already running there
    with ``SO_REUSEPORT`` would otherwise silently share the port with this one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port:
        with socket.socket(family, socket.SOCK_STREAM) as probe:  # no SO_REUSEPORT: fails if taken
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(backlog)
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class WorkerProcesses:
    """One uvicorn worker process per socket, kept alive until a stop signal."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        self.config = config
        self.sockets = sockets
        self.processes: list[Process] = []
        self.should_exit = threading.Event()
        self.failed = False  # a worker could not start
        self.should_restart = False

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("Received %s, exiting.", signal.Signals(signum).name)
        self.should_exit.set()

    def _hang_up(self, _signum: int, _frame: FrameType | None) -> None:
        self.should_restart = True

    def run(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        signal.signal(signal.SIGHUP, self._hang_up)  # as uvicorn: replace every worker, one by one
        host, port = self.config.host, self.sockets[0].getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        log.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, port)
        log.info(
            "Started parent process [%d], %d workers on sockets of their own", os.getpid(), len(self.sockets)
        )
        for sock in self.sockets:
            process = Process(self.config, [sock])
            process.start()
            self.processes.append(process)
        try:
            while not self.should_exit.wait(0.5):
                if self.should_restart:
                    self.should_restart = False
                    self._restart_all()
                self._keep_alive()
        finally:
            for process in self.processes:
                process.terminate()
            for process in self.processes:
                process.join()
            for sock in self.sockets:
                sock.close()

    def _restart_all(self) -> None:
        """Each worker replaced on its socket, the new one serving before the old one stops (the
        old one's socket is the new one's: no connection is refused meanwhile)."""
        log.info("Received SIGHUP, restarting the workers.")
        for index, old in enumerate(self.processes):
            new = Process(self.config, [self.sockets[index]])
            new.start()
            if not new.wait_until_ready(_READY_SECONDS, self.should_exit):
                new.kill()
                new.join()
                log.error("A new worker was not ready in time; keeping the old ones.")
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def _keep_alive(self) -> None:
        """Replace a worker that died or stopped answering, on its own socket; stop on a worker that
        could not start (the app or its settings are broken: every restart would fail alike)."""
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set() or process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                log.error("Child process [%s] failed to start, stopping the server.", process.pid)
                self.failed = True
                self.should_exit.set()
                return
            log.info("Child process [%s] died", process.pid)
            replacement = Process(self.config, [self.sockets[index]])
            replacement.start()
            self.processes[index] = replacement
