"""A local HTTP server replaying recorded Binance and 3Commas answers (``recorded/*.json``), so the
real ccxt and py3cw code builds, signs and sends its requests without reaching the internet."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
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
    ("GET", "/api/v3/ticker/24hr"): "binance_ticker_24hr.json",
    ("GET", "/public/api/ver1/accounts"): "three_commas_accounts.json",
    ("GET", "/public/api/ver1/bots"): "three_commas_bots.json",
    ("GET", "/public/api/ver1/deals"): "three_commas_deals.json",
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
    # (method, path) -> (status, recorded file): answers that replace the recorded route's
    answers: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    # Binance orders kept by client order id (a venue that remembers what was placed): None answers
    # every order call with its recorded file; a dict places, finds and refuses unknown orders
    orders: dict[str, dict[str, Any]] | None = None
    fill_orders: bool = True  # False: a placed order waits open, unfilled (fill it with ``fill``)
    my_trades: str = "binance_my_trades.json"  # the recorded fills the account's trades are read from
    fills: list[dict[str, Any]] | None = None  # fills in the recorded shape instead of that file's

    def fill(self, client_order_id: str) -> None:
        """The venue filled a waiting order in full at the recorded fill's price."""
        assert self.orders is not None
        order = self.orders[client_order_id]
        filled = recorded("binance_order.json")["fills"][0] | {"qty": order["origQty"]}
        order |= {"status": "FILLED", "executedQty": order["origQty"], "fills": [filled]}
        order["cummulativeQuoteQty"] = str(Decimal(order["origQty"]) * Decimal(filled["price"]))

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if (r.method, r.path) == (method, path))


_NO_ORDER = b'{"code": -2013, "msg": "Order does not exist."}'


def _order_book(replay: Replay, seen: Seen) -> tuple[int, bytes] | None:
    """Binance's order calls against ``replay.orders``; None for any other call."""
    if replay.orders is None or seen.path != "/api/v3/order":
        return None
    if seen.method == "POST":
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        order = recorded("binance_order.json")
        qty = form.get("quantity", order["origQty"])
        order |= {"clientOrderId": form["newClientOrderId"], "orderId": 100402 + len(replay.orders)}
        order |= {"origQty": qty, "executedQty": qty, "symbol": form.get("symbol", "BTCUSDT")}
        order |= {"side": form.get("side", order["side"]), "type": form.get("type", order["type"])}
        order["fills"] = [order["fills"][0] | {"qty": qty}]
        order["cummulativeQuoteQty"] = str(Decimal(qty) * Decimal(order["fills"][0]["price"]))
        if not replay.fill_orders:
            order |= {"status": "NEW", "executedQty": "0", "cummulativeQuoteQty": "0", "fills": []}
        replay.orders[form["newClientOrderId"]] = order
        return 200, json.dumps(order).encode()
    client_id = (seen.query.get("origClientOrderId") or [""])[0]
    order_id = (seen.query.get("orderId") or [""])[0]
    for order in replay.orders.values():
        if order["clientOrderId"] == client_id or str(order["orderId"]) == order_id:
            if seen.method == "DELETE" and order["status"] == "NEW":
                order["status"] = "CANCELED"
            return 200, json.dumps(order).encode()
    return 400, _NO_ORDER


def _my_trades(replay: Replay, seen: Seen) -> bytes:
    """The trades of the asked symbol from ``startTime`` on, oldest first, at most ``limit`` (as Binance
    answers)."""
    symbol = (seen.query.get("symbol") or [""])[0]
    start = int((seen.query.get("startTime") or ["0"])[0])
    limit = int((seen.query.get("limit") or ["500"])[0])
    fills = recorded(replay.my_trades) if replay.fills is None else replay.fills
    chosen = sorted(
        (t for t in fills if t["symbol"] == symbol and t["time"] >= start), key=lambda t: t["time"]
    )
    return json.dumps(chosen[:limit]).encode()


def _answer(replay: Replay, seen: Seen) -> tuple[int, bytes]:
    signed = "signature" in seen.query or "Signature" in seen.headers
    if replay.refuse and signed:
        name = next(f for prefix, f in REFUSED.items() if seen.path.startswith(prefix))
        return 401, (RECORDED / name).read_bytes()
    if (seen.method, seen.path) in replay.answers:
        status, name = replay.answers[(seen.method, seen.path)]
        return status, (RECORDED / name).read_bytes()
    booked = _order_book(replay, seen)
    if booked is not None:
        return booked
    if (seen.method, seen.path) == ("GET", "/api/v3/myTrades"):
        return 200, _my_trades(replay, seen)
    name = ROUTES.get((seen.method, seen.path))
    if name is None:
        return 404, b'{"error": "not recorded"}'
    return 200, (RECORDED / name).read_bytes()


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
            replay.requests.append(seen)
            if replay.delay:
                time.sleep(replay.delay)
            status, payload = _answer(replay, seen)
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
