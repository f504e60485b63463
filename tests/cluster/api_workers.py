"""The API host's two worker processes seen from outside: which is which (the process id an admin's
``/info`` shows, the leader the one holding the home's leader lock), clients pinned to one of them, and
a job-event SSE stream read from a chosen one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import psutil

from tests.serving_support import PASSWORD

__all__ = ["ApiWorkers", "Event", "EventStream"]

Event = dict[str, Any]
_TRIES = 8  # connections opened at once: both idle workers race to accept each


def _connection(response: httpx.Response) -> Any:
    """The client end (address, port) of the TCP connection that carried ``response``."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


class ApiWorkers:
    """The two workers behind the API host's one port (uvicorn ``--workers 2``)."""

    def __init__(self, url: str, admin: str, main_pid: int) -> None:
        self.url = url
        login = httpx.post(f"{url}/auth/login", json={"username": admin, "password": PASSWORD}, timeout=30)
        assert login.status_code == 200, login.text
        self.admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        self.pids: set[int] = set()
        for _ in range(20):
            for pid, client in self._connect():
                self.pids.add(pid)
                client.close()
            if len(self.pids) == 2:
                break
        assert len(self.pids) == 2, f"only the workers {self.pids} accepted {20 * _TRIES} connections"
        self.leader = self._leader(main_pid)
        (self.other,) = self.pids - {self.leader}

    def _connect(self) -> list[tuple[int, httpx.Client]]:
        """``_TRIES`` new connections, opened at once, each with the pid of the worker that took it."""

        def one(_: int) -> tuple[int, httpx.Client]:
            client = httpx.Client(base_url=self.url, timeout=30, limits=httpx.Limits(max_connections=1))
            try:
                info = client.get("/info", headers=self.admin)
                assert info.status_code == 200, info.text
            except BaseException:
                client.close()
                raise
            return int(info.json()["system"]["process_id"]), client

        with ThreadPoolExecutor(_TRIES) as pool:
            return list(pool.map(one, range(_TRIES)))

    def _leader(self, main: int) -> int:
        """The worker holding the home's leader lock (it announces job events and reaps)."""
        holders = [
            p.pid
            for p in psutil.Process(main).children(recursive=True)
            if p.pid in self.pids and any(f.path.endswith("api-leader.lock") for f in p.open_files())
        ]
        assert len(holders) == 1, f"workers holding the leader lock: {holders} of {self.pids}"
        return holders[0]

    @contextmanager
    def on(self, pid: int) -> Iterator[httpx.Client]:
        """A client on one kept-alive connection the worker ``pid`` accepted. Use it at once: an idle
        connection is closed within seconds, and the next one may reach the other worker."""
        for _ in range(20):
            opened = self._connect()
            mine = next((c for p, c in opened if p == pid), None)
            for _, c in opened:
                if c is not mine:
                    c.close()
            if mine is not None:
                try:
                    yield mine
                finally:
                    mine.close()
                return
        raise AssertionError(f"worker {pid} accepted none of {20 * _TRIES} connections")


class EventStream:
    """The job-event SSE stream of one API worker, read by a thread into ``events`` until closed."""

    def __init__(self, workers: ApiWorkers, pid: int, token: str) -> None:
        self.events: list[Event] = []
        self.error: BaseException | None = None
        self._opened = threading.Event()
        self._pinned = workers.on(pid)
        client = self._pinned.__enter__()
        info = client.get("/info", headers=workers.admin)
        reader = threading.Thread(target=self._read, args=(client, token, _connection(info)), daemon=True)
        self._thread = reader
        reader.start()
        assert self._opened.wait(30), f"the stream on worker {pid} never opened: {self.error!r}"
        assert self.error is None, f"the stream on worker {pid} failed: {self.error!r}"

    def _read(self, client: httpx.Client, token: str, connection: Any) -> None:
        try:
            with client.stream("GET", f"/api/system/task-events?token={token}", timeout=None) as r:
                assert r.status_code == 200, r.read()
                assert _connection(r) == connection, "the stream went over another connection"
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        self.events.append(json.loads(line[5:]))
                        self._opened.set()
        except BaseException as exc:  # the test closed it, or a failure it reports
            self.error = exc
            self._opened.set()

    def of(self, job_id: str) -> list[Event]:
        return [e for e in list(self.events) if e.get("data", {}).get("task_id") == job_id]

    def wait(self, job_id: str, done: Callable[[list[Event]], bool], timeout: float) -> list[Event]:
        deadline = time.monotonic() + timeout
        while not done(mine := self.of(job_id)):
            assert self._thread.is_alive(), f"the stream ended: {self.error!r}"
            assert time.monotonic() < deadline, f"job {job_id}: events so far {[e['type'] for e in mine]}"
            time.sleep(0.1)
        return mine

    def close(self) -> None:
        self._pinned.__exit__(None, None, None)
        self._thread.join(10)
