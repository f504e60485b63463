"""Live strategies over the real app: stored per user (JWT or API key), isolation between users, an
admin's view, bad input refused with nothing stored, (de)activation and deletion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pipelines.db import LiveStrategy
from tests.serving_support import app_client, make_user, served_settings

BODY = {
    "name": "majors",
    "type": "SmaCross",
    "params": {"symbols": ["BTC_USDT", "eth/usdt", "AAPL"], "timeframe": "5m", "capital": 2500, "fast": 5},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home: Path = tmp_path_factory.mktemp("strategies") / "home"
    with app_client(served_settings(home)) as c:
        yield c


def stored(client: Any) -> int:
    with client.app.state.container.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(LiveStrategy)) or 0)


def test_available_is_a_bare_list_of_registered_strategies(client: Any) -> None:
    user = make_user(client)
    answer = client.get("/api/strategies/available", headers=user["headers"])
    assert answer.status_code == 200, answer.text
    by_name = {s["name"]: s for s in answer.json()}
    assert {"SmaCross", "RsiReversion", "BollingerBreakout", "BuyAndHold", "MLPredictive"} <= set(by_name)
    fast = by_name["SmaCross"]["parameters"]["fast"]
    assert fast == {"type": "integer", "required": False, "default": 10, "description": "fast SMA period",
                    "minimum": 1}  # fmt: skip


def test_crud_activate_and_delete(client: Any) -> None:
    alice = make_user(client)
    h = alice["headers"]
    created = client.post("/api/strategies/", json=BODY, headers=h)
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["type"] == "SmaCross" and row["status"] == "inactive" and row["activated_at"] is None
    assert row["params"] == {
        "symbols": ["BTC/USDT", "ETH/USDT", "AAPL"], "timeframe": "5m", "broker": "paper",
        "capital": "2500", "fast": 5, "slow": 20,
    }  # fmt: skip
    sid = row["id"]
    assert client.get(f"/api/strategies/{sid}", headers=h).json() == row
    assert [s["id"] for s in client.get("/api/strategies/", headers=h).json()] == [sid]

    active = client.post(f"/api/strategies/{sid}/activate", headers=h).json()
    assert active["status"] == "active" and active["activated_at"]
    busy = client.put(f"/api/strategies/{sid}", json={"params": {"symbols": ["AAPL"]}}, headers=h)
    assert busy.status_code == 409, busy.text
    renamed = client.put(f"/api/strategies/{sid}", json={"name": "renamed"}, headers=h).json()
    assert renamed["name"] == "renamed" and renamed["status"] == "active"
    assert client.post(f"/api/strategies/{sid}/deactivate", headers=h).json()["status"] == "inactive"
    changed = client.put(
        f"/api/strategies/{sid}", json={"type": "rsi_reversion", "params": {"symbols": ["AAPL"]}}, headers=h
    ).json()
    assert changed["type"] == "RsiReversion" and changed["params"]["period"] == 14
    assert "fast" not in changed["params"]

    client.post(f"/api/strategies/{sid}/activate", headers=h)
    deleted = client.delete(f"/api/strategies/{sid}", headers=h)
    assert deleted.status_code == 200 and deleted.json() == {"id": sid, "status": "deleted"}
    gone = client.get(f"/api/strategies/{sid}", headers=h)
    assert gone.status_code == 404 and "not found" in gone.json()["detail"]


def test_users_see_only_their_own_and_admin_sees_all(client: Any) -> None:
    alice, bob, admin = make_user(client), make_user(client), make_user(client, role="admin")
    key = client.post("/api/v1/auth/keys", json={"name": "bot"}, headers=bob["headers"]).json()["key"]
    by_key = {"X-API-Key": key}
    a_id = client.post("/api/strategies/", json=BODY, headers=alice["headers"]).json()["id"]
    b = client.post("/api/strategies/", json={**BODY, "name": "bob's"}, headers=by_key)
    assert b.status_code == 201, b.text
    b_id = b.json()["id"]
    assert [s["id"] for s in client.get("/api/strategies/", headers=by_key).json()] == [b_id]
    for method, path in [
        ("GET", f"/api/strategies/{a_id}"),
        ("PUT", f"/api/strategies/{a_id}"),
        ("DELETE", f"/api/strategies/{a_id}"),
        ("POST", f"/api/strategies/{a_id}/activate"),
        ("POST", f"/api/strategies/{a_id}/deactivate"),
    ]:
        body = {"name": "taken"} if method == "PUT" else None
        answer = client.request(method, path, json=body, headers=by_key)
        assert answer.status_code == 404, (method, path, answer.text)
    assert client.get(f"/api/strategies/{a_id}", headers=alice["headers"]).json()["name"] == "majors"
    everyone = {s["id"] for s in client.get("/api/strategies/?limit=500", headers=admin["headers"]).json()}
    assert {a_id, b_id} <= everyone
    assert (
        client.post(f"/api/strategies/{b_id}/activate", headers=admin["headers"]).json()["status"] == "active"
    )
    assert client.get("/api/strategies/", headers={}).status_code == 401


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**BODY, "type": "NoSuchStrategy"}, "NoSuchStrategy"),
        ({**BODY, "params": {**BODY["params"], "fast": "five"}}, "fast"),
        ({**BODY, "params": {**BODY["params"], "fast": 5.5}}, "fast"),
        ({**BODY, "params": {**BODY["params"], "window": 3}}, "window"),
        ({**BODY, "params": {**BODY["params"], "symbols": ["BTC_USDT", "no such!"]}}, "no such!"),
        ({**BODY, "params": {**BODY["params"], "symbols": [f"S{i}" for i in range(101)]}}, "at most 100"),
        ({**BODY, "params": {**BODY["params"], "symbols": []}}, "symbols"),
        ({**BODY, "params": {**BODY["params"], "timeframe": "7x"}}, "7x"),
        ({**BODY, "params": {**BODY["params"], "capital": -5}}, "capital"),
        ({**BODY, "params": {**BODY["params"], "broker": "binance"}}, "broker"),
        ({**BODY, "params": {**BODY["params"], "stop_loss": 2}}, "stop_loss"),
        ({**BODY, "params": {**BODY["params"], "fast": 30}}, "fast < slow"),
        ({**BODY, "name": ""}, "name"),
    ],
)
def test_bad_input_is_a_4xx_naming_it_and_stores_nothing(client: Any, body: Any, named: str) -> None:
    user = make_user(client)
    before = stored(client)
    answer = client.post("/api/strategies/", json=body, headers=user["headers"])
    assert answer.status_code in (400, 422), answer.text
    assert named in answer.json()["detail"]
    assert stored(client) == before


class Switch:
    """Records what the routes asked of the live service."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start(self, strategy: Any) -> None:
        self.calls.append(("start", strategy.id))

    def stop(self, strategy_id: str) -> None:
        self.calls.append(("stop", strategy_id))


def test_activation_starts_and_stops_the_runners(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    switch = Switch()
    monkeypatch.setattr(client.app.state.container.strategies_provider.store, "runners", switch)
    h = make_user(client)["headers"]
    sid = client.post("/api/strategies/", json=BODY, headers=h).json()["id"]
    client.post(f"/api/strategies/{sid}/activate", headers=h)
    client.post(f"/api/strategies/{sid}/activate", headers=h)  # already active: nothing more
    client.post(f"/api/strategies/{sid}/deactivate", headers=h)
    client.post(f"/api/strategies/{sid}/activate", headers=h)
    client.delete(f"/api/strategies/{sid}", headers=h)
    assert switch.calls == [("start", sid), ("stop", sid), ("start", sid), ("stop", sid)]
