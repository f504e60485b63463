"""Open WebSockets and SSE streams end when their user loses access: disabled, deleted, an API key
revoked, or (for an admin's stream of every user's jobs) demoted. Over a real uvicorn server with the
direct-frame fan-out, and over the test client; changes nobody announced are found by the sweep."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from pipelines.app.account_admin import set_active
from pipelines.app.accounts import register_user
from tests.net_support import NO_REDIS, REDIS_URL, redis_up
from tests.serving.test_ws_direct_frames import serve
from tests.serving_support import PASSWORD, app_client, make_user, served_settings

CLOSE_REVOKED = 4401
_users = iter(range(1_000_000))


class Server:
    def __init__(self, services: Any, base: str, sockets: ExitStack) -> None:
        self.services, self.ws_base, self.sockets = services, base, sockets
        self.http = httpx.Client(base_url=base.replace("ws://", "http://"), timeout=10)

    def user(self, role: str = "user") -> dict[str, Any]:
        name = f"{role}{next(_users)}"
        with self.services.database.transaction() as session:
            register_user(session, name, PASSWORD, role=role, tier="enterprise")
        login = self.http.post("/auth/login", json={"username": name, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        return {"username": name, "token": token, "headers": {"Authorization": f"Bearer {token}"}}

    def socket(self, path: str, user: dict[str, Any]) -> ClientConnection:
        ws = self.sockets.enter_context(connect(f"{self.ws_base}{path}?token={user['token']}"))
        assert _json(ws)["type"] == "authenticated"
        return ws


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("revocation") / "home"
    settings = served_settings(home, live_speed=600.0, live_symbols=["BTC/USDT"], live_timeframe="1m")
    with serve(settings) as (services, base, _token), ExitStack() as sockets:
        yield Server(services, base, sockets)


def _json(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(ws.recv(timeout=10))
    assert isinstance(message, dict)
    return message


def _closed_with(ws: ClientConnection, reason: str, within: float = 2.0) -> None:
    """The server says why, then closes with 4401 and the reason, within ``within`` seconds
    (stream messages sent before the change may come first)."""
    deadline = time.monotonic() + within
    said = False
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            said = said or message.get("error", {}).get("message") == reason
    assert said and time.monotonic() < deadline
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (CLOSE_REVOKED, reason)


def _alive(ws: ClientConnection) -> None:
    ws.send(json.dumps({"action": "ping"}))
    while _json(ws)["type"] != "pong":
        pass


def _follow(server: Server, user: dict[str, Any]) -> tuple[list[dict[str, Any]], threading.Thread]:
    """Read the task-event stream in a thread until it ends; its events (with their SSE name)."""
    events: list[dict[str, Any]] = []
    opened = threading.Event()

    def read() -> None:
        with server.http.stream("GET", f"/api/system/task-events?token={user['token']}", timeout=30) as r:
            name = ""
            for line in r.iter_lines():
                if line.startswith("event:"):
                    name = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    events.append({"event": name, **json.loads(line.partition(":")[2])})
                    opened.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(10) and events[0]["event"] == "initial_state"
    return events, reader


def test_a_disabled_users_websockets_close_at_once(server: Server) -> None:
    admin, user, bystander = server.user("admin"), server.user(), server.user()
    channel = server.socket("/ws", user)
    prices = server.socket("/api/v1/ws/prices/BTC_USDT", user)  # its updates are written directly
    assert _json(prices)["type"] == "price_update"
    other = server.socket("/ws", bystander)
    changed = server.http.patch(
        f"/api/v1/users/{user['username']}", json={"is_active": False}, headers=admin["headers"]
    )
    assert changed.status_code == 200, changed.text
    _closed_with(channel, "account disabled")
    _closed_with(prices, "account disabled")
    _alive(other)  # another user's connection is not touched


def test_a_demoted_admin_keeps_user_streams_and_loses_admin_ones(server: Server) -> None:
    admin, demoted = server.user("admin"), server.user("admin")
    channel = server.socket("/ws", demoted)
    events, reader = _follow(server, demoted)
    assert events[0]["is_admin"] is True  # this stream shows every user's jobs
    changed = server.http.patch(
        f"/api/v1/users/{demoted['username']}", json={"role": "user"}, headers=admin["headers"]
    )
    assert changed.status_code == 200, changed.text
    reader.join(2)
    assert not reader.is_alive(), "the admin stream still runs"
    assert events[-1] == {
        "event": "revoked",
        "type": "revoked",
        "error": {"code": "UNAUTHORIZED", "message": "admin role removed"},
    }
    _alive(channel)  # a price or prediction channel never needed the role

    deleted = server.http.delete(f"/api/v1/users/{demoted['username']}", headers=admin["headers"])
    assert deleted.status_code == 200, deleted.text
    _closed_with(channel, "account deleted")


def test_a_deleted_users_event_stream_ends(server: Server) -> None:
    admin, user = server.user("admin"), server.user()
    events, reader = _follow(server, user)
    deleted = server.http.delete(f"/api/v1/users/{user['username']}", headers=admin["headers"])
    assert deleted.status_code == 200, deleted.text
    reader.join(2)
    assert not reader.is_alive(), "the stream of a deleted user still runs"
    assert events[-1]["event"] == "revoked" and events[-1]["error"]["message"] == "account deleted"


def _ws_closed(ws: Any, reason: str, within: float = 2.0) -> None:
    """The test client's version of ``_closed_with``."""
    deadline = time.monotonic() + within
    said = False
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            message = ws.receive_json(timeout=max(0.01, deadline - time.monotonic()))
            said = said or message.get("error", {}).get("message") == reason
    assert said and time.monotonic() < deadline
    assert (closed.value.code, closed.value.detail) == (CLOSE_REVOKED, reason)


def test_a_revoked_api_keys_connections_close_and_token_ones_stay(tmp_path: Path) -> None:
    with app_client(served_settings(tmp_path / "home")) as client:
        user = make_user(client)
        created = client.post("/api/v1/auth/keys", json={"name": "k"}, headers=user["headers"]).json()
        token = user["headers"]["Authorization"].split()[1]
        with (
            client.websocket_connect(f"/api/v1/ws/live?api_key={created['key']}") as by_key,
            client.websocket_connect(f"/ws?token={token}") as by_token,
        ):
            assert by_key.receive_json()["type"] == "authenticated"
            assert by_token.receive_json()["type"] == "authenticated"
            revoked = client.delete(f"/api/v1/auth/keys/{created['id']}", headers=user["headers"])
            assert revoked.status_code == 200, revoked.text
            _ws_closed(by_key, "API key revoked")
            by_token.send_json({"action": "ping"})
            assert by_token.receive_json(timeout=5)["type"] == "pong"


def test_a_change_nobody_announced_is_found_by_the_sweep(tmp_path: Path) -> None:
    """As after a CLI change without Redis: the user's row changes, no worker is told."""
    settings = served_settings(tmp_path / "home", stream_recheck_seconds=0.5, user_state_cache_seconds=0.0)
    with app_client(settings) as client:
        user = make_user(client)
        token = user["headers"]["Authorization"].split()[1]
        with client.websocket_connect(f"/ws?token={token}") as ws:
            assert ws.receive_json()["type"] == "authenticated"
            with client.app.state.container.database.transaction() as session:
                set_active(session, user["id"], False)
            _ws_closed(ws, "account disabled", within=3.0)


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_a_change_made_on_one_worker_closes_streams_on_another(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home", redis_url=REDIS_URL, stream_recheck_seconds=600.0)
    with app_client(settings) as first, app_client(settings) as second:
        admin, user = make_user(first, role="admin"), make_user(first)
        token = user["headers"]["Authorization"].split()[1]
        with second.websocket_connect(f"/ws?token={token}") as ws:
            assert ws.receive_json()["type"] == "authenticated"
            changed = first.patch(
                f"/api/v1/users/{user['username']}", json={"is_active": False}, headers=admin["headers"]
            )
            assert changed.status_code == 200, changed.text
            _ws_closed(ws, "account disabled")
