"""The API's client of the inference service over real sockets: kept-alive connections are reused,
and one the service closed while idle is replaced at once, without a retry."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest

from pipelines.models.registry import LoadedModel
from pipelines.prediction.wire import encode_matrix
from serving.inference import HttpModelCaller

_ANSWER = json.dumps(
    [{"model": "m", "version": "1", **encode_matrix(np.array([0.25])), "error": None}]
).encode()
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
_MODEL = cast(LoadedModel, SimpleNamespace(name="m", version="1"))


class _Service:
    """Answers every POST with one model answer; ``close_after_answer`` drops each connection after
    its first answer, as a server does to a kept-alive connection left idle past its timeout."""

    def __init__(self, close_after_answer: bool) -> None:
        self.close_after_answer = close_after_answer
        self.connections = 0
        self.answers = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                match = _LENGTH.search(head)
                size = int(match.group(1)) if match else 0
                while len(buffer) < size:
                    buffer += conn.recv(65536)
                buffer = buffer[size:]
                head_out = f"HTTP/1.1 200 OK\r\ncontent-length: {len(_ANSWER)}\r\n\r\n".encode()
                self.answers += 1  # counted before it is sent: the client may check as soon as it reads
                conn.sendall(head_out + _ANSWER)
                if self.close_after_answer:
                    return

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def service(request: pytest.FixtureRequest) -> Iterator[_Service]:
    served = _Service(close_after_answer=request.param)
    yield served
    served.close()


@pytest.mark.parametrize("service", [False], indirect=True)
def test_calls_of_one_thread_share_one_kept_alive_connection(service: _Service) -> None:
    caller = HttpModelCaller(service.url, retries=0)
    try:
        outs = [caller(_MODEL, np.zeros((1, 3)))[0] for _ in range(5)]
    finally:
        caller.close()
    assert outs == [0.25] * 5
    assert service.answers == 5 and service.connections == 1


@pytest.mark.parametrize("service", [True], indirect=True)
def test_a_connection_the_service_closed_is_replaced_without_a_retry(service: _Service) -> None:
    caller = HttpModelCaller(service.url, retries=0)  # no retries: a stale connection must not fail a call
    try:
        first = caller(_MODEL, np.zeros((1, 3)))
        time.sleep(0.05)  # the service's close reaches the client
        began = time.perf_counter()
        second = caller(_MODEL, np.zeros((1, 3)))
        took = time.perf_counter() - began
    finally:
        caller.close()
    assert first.tolist() == second.tolist() == [0.25]
    assert service.connections == 2 and service.answers == 2
    assert took < 0.05  # not the retries' pause (0.1 s and more)
