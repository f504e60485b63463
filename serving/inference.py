"""The API's model calls sent to the BentoML inference service (``serving/bento``) when
``TRADEFORGE_INFERENCE_URL`` is set: kept-alive connections (one per calling thread, at most ``pool``
in use at once), a timeout per call, retries of calls the service did not answer (they are
idempotent), and a 503 SERVICE_UNAVAILABLE naming the inference service when it stays down. The API
computes the features; the service only runs the model.

The connections are the standard library's ``http.client``, one per thread: a model call is one small
POST, and a shared pool's locking and bookkeeping (httpx) cost the calling threads ten times the CPU
of the request itself when 64 of them call at once."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from pipelines.errors import BusyError, ModelError
from pipelines.models.base import FloatMatrix
from pipelines.models.registry import LoadedModel
from pipelines.prediction.wire import decode_matrix, encode_matrix
from pipelines.settings import Settings

__all__ = ["CALL_PATH", "HttpModelCaller", "InferenceUnavailableError", "model_caller"]

log = logging.getLogger("tradeforge.serving")

CALL_PATH = "/predict"  # the service's batchable model-call endpoint
_RETRY_STATUS = frozenset({502, 503, 504})


class InferenceUnavailableError(BusyError):
    """The inference service did not answer a model call after its retries (down, overloaded)."""


def _tuned(sock: socket.socket, read_timeout: float) -> None:
    """A connected socket as model calls want it: no Nagle delay on small requests, and each answer
    awaited up to ``read_timeout``."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(read_timeout)


class _Connection(http.client.HTTPConnection):
    """Connects within ``connect_timeout``, then waits up to ``timeout`` for each answer."""

    def __init__(self, host: str, port: int | None, timeout: float, connect_timeout: float) -> None:
        super().__init__(host, port, timeout=connect_timeout)
        self._read_timeout = timeout

    def connect(self) -> None:
        super().connect()
        _tuned(self.sock, self._read_timeout)


class _TlsConnection(http.client.HTTPSConnection):
    """``_Connection`` over TLS."""

    def __init__(self, host: str, port: int | None, timeout: float, connect_timeout: float) -> None:
        super().__init__(host, port, timeout=connect_timeout, context=ssl.create_default_context())
        self._read_timeout = timeout

    def connect(self) -> None:
        super().connect()
        _tuned(self.sock, self._read_timeout)


class HttpModelCaller:
    """Calls the registered version the API resolved (by number, so features and model agree)."""

    def __init__(self, url: str, *, timeout: float = 10.0, retries: int = 2, pool: int = 64) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the inference service URL must be http(s)://host[:port], got {url!r}")
        self._kind = _TlsConnection if parts.scheme == "https" else _Connection
        self._address = (parts.hostname, parts.port)
        self._path = parts.path + CALL_PATH
        self._timeouts = (timeout, min(timeout, 2.0))
        self._slots = threading.BoundedSemaphore(pool)  # connections in use at once
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, loaded: LoadedModel, x: FloatMatrix) -> FloatMatrix:
        body = {"calls": [{"model": loaded.name, "ref": loaded.version, **encode_matrix(x)}]}
        answers = self._post(body)
        if not isinstance(answers, list) or len(answers) != 1 or not isinstance(answers[0], dict):
            raise ModelError(f"the inference service at {self.url} sent a malformed answer")
        answer = answers[0]
        if answer.get("error"):
            raise ModelError(f"the inference service could not call {loaded.name!r}: {answer['error']}")
        if str(answer.get("version")) != loaded.version:
            raise ModelError(
                f"the inference service answered with {loaded.name!r} v{answer.get('version')}, "
                f"not v{loaded.version}"
            )
        return decode_matrix(answer.get("shape"), answer.get("data"))

    def _post(self, body: dict[str, Any]) -> Any:
        raw = json.dumps(body, separators=(",", ":")).encode()
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.05 * 2**attempt, 1.0))
            try:
                status, text = self._send(raw)
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if status in _RETRY_STATUS:
                problem = f"HTTP {status}"
                continue
            if status != 200:
                raise ModelError(
                    f"the inference service at {self.url} refused a model call: HTTP "
                    f"{status} {text[:200].decode(errors='replace')}"
                )
            try:
                return json.loads(text)
            except ValueError:
                raise ModelError(f"the inference service at {self.url} sent a malformed answer") from None
        log.warning("inference service %s unavailable: %s", self.url, problem)
        raise InferenceUnavailableError(
            f"the inference service at {self.url} is unavailable ({problem}) after "
            f"{self.retries + 1} attempts; try again shortly"
        )

    def _send(self, raw: bytes) -> tuple[int, bytes]:
        """One POST on this thread's connection (a new one after any failure); status and body.

        A kept-alive connection the service closed while it was idle (its keep-alive timeout) fails
        at once on reuse: the call is made again on a new connection, without a retry's pause."""
        if self._closed:
            raise ConnectionError("the model caller is closed")
        with self._slots:
            conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
            for fresh in (conn is None, True):
                if conn is None:
                    conn = self._local.conn = self._kind(*self._address, *self._timeouts)
                    with self._lock:
                        self._open.add(conn)
                try:
                    conn.request("POST", self._path, raw, {"Content-Type": "application/json"})
                    response = conn.getresponse()
                    text = response.read()
                except ConnectionError:  # reset, broken pipe, closed before answering (RemoteDisconnected)
                    self._drop(conn)
                    conn = None
                    if fresh:
                        raise
                    continue
                except BaseException:
                    self._drop(conn)
                    raise
                if response.will_close:
                    self._drop(conn)
                return response.status, text
        raise AssertionError("unreachable: the second try runs on a new connection")

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            self._open.discard(conn)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            conn.close()


def model_caller(settings: Settings) -> HttpModelCaller | None:
    """The HTTP caller when an inference service is configured, else None (models predict in process)."""
    group = settings.inference
    if not group.inference_url:
        return None
    return HttpModelCaller(
        group.inference_url,
        timeout=group.inference_timeout_seconds,
        retries=group.inference_retries,
        pool=group.inference_pool_size,
    )
