"""A local HTTP server replaying recorded Binance and 3Commas answers (``recorded/*.json``), so the
real ccxt and py3cw code builds, signs and sends its requests without reaching the internet."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).parent / "recorded"

# (method, path) -> recorded file; what the clients call for a balance, trades, an order, accounts, bots.
ROUTES = {
    ("GET", "/api/v3/exchangeInfo"): "binance_exchange_info.json",
    ("GET", "/api/v3/account"): "binance_account.json",
    ("GET", "/api/v3/myTrades"): "binance_my_trades.json",
    ("POST", "/api/v3/order"): "binance_order.json",
    ("GET", "/api/v3/order"): "binance_order_status.json",
    ("DELETE", "/api/v3/order"): "binance_order_canceled.json",
    ("GET", "/public/api/ver1/accounts"): "three_commas_accounts.json",
    ("GET", "/public/api/ver1/bots"): "three_commas_bots.json",
}
REFUSED = {"/api/": "binance_401.json", "/public/": "three_commas_401.json"}


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Replay:
    url: str
    requests: list[Seen] = field(default_factory=list)
    refuse: bool = False  # answer 401 with the venue's recorded refusal to every signed call
    delay: float = 0.0  # seconds to wait before answering (a venue slower than the client's timeout)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
            replay.requests.append(seen)
            if replay.delay:
                time.sleep(replay.delay)
            signed = "signature" in seen.query or "Signature" in seen.headers
            name = ROUTES.get((self.command, parts.path))
            status = 200
            if replay.refuse and signed:
                status = 401
                name = next(f for prefix, f in REFUSED.items() if parts.path.startswith(prefix))
            elif name is None:
                status, name = 404, None
            payload = (RECORDED / name).read_bytes() if name else b'{"error": "not recorded"}'
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                pass

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@contextmanager
def replay_server() -> Iterator[Replay]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Replay(url="")))
    replay = Replay(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
