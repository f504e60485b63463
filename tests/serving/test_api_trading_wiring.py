"""The trade routes under each user's stored configuration (PUT /api/config changes what the next
trade may do), a refused manual DCA recorded and answered 4xx, and the trading events a user's
WebSocket receives for their fills and closes (never for a rolled-back write)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from pipelines.db.trading_models import DcaAttemptRow, OrderRow, PaperBalanceRow, TradeRow
from pipelines.trading.records import Bar
from tests.serving_support import app_client, assert_envelope, make_user, served_settings
from tests.trading.support import write_bars

# Each test trades its own pair: bars a test writes ahead of now would fill another test's orders.
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT")


def _minute(offset: int) -> dt.datetime:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    return now + dt.timedelta(minutes=offset)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = served_settings(tmp_path_factory.mktemp("wiring") / "home", paper_commission=0.0)
    for pair in PAIRS:
        write_bars(settings, pair, [(_minute(-3), 100.0, 100.0, 100.0, 100.0)])
    with app_client(settings) as c:
        c.settings = settings
        yield c


def _bar(client: Any, pair: str, offset: int, o: float, h: float, low: float, c: float) -> None:
    """A new bar, stored and announced as the live feed does."""
    when = _minute(offset)
    write_bars(client.settings, pair, [(when, o, h, low, c)])
    client.app.state.container.trade_desk.on_bar(pair, Bar(when, o, h, low, c))


def _store(client: Any, pair: str, offset: int, o: float, h: float, low: float, c: float) -> None:
    """A new bar stored but not announced: the next request settles it."""
    write_bars(client.settings, pair, [(_minute(offset), o, h, low, c)])
    client.app.state.container.trade_desk.bars.forget(pair)


def _counts(client: Any) -> tuple[int, ...]:
    with client.app.state.container.database.session() as s:
        tables = (TradeRow, OrderRow, DcaAttemptRow, PaperBalanceRow)
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def _config(client: Any, user: dict[str, Any], patch: dict[str, Any]) -> None:
    answer = client.put("/api/config", json=patch, headers=user["headers"])
    assert answer.status_code == 200, answer.text


def _trade(client: Any, user: dict[str, Any], **body: Any) -> Any:
    return client.post(
        "/api/trades",
        json={"symbol": "BTCUSDT", "side": "buy", "amount": "1", **body},
        headers=user["headers"],
    )


def test_the_stored_configuration_decides_what_a_trade_may_do(client: Any) -> None:
    user = make_user(client)
    opened = _trade(client, user)
    assert opened.status_code == 201, opened.text
    data = opened.json()["data"]
    assert (data["stop_loss"], data["take_profit"]) == ("95", "110")  # SAFU on: 5% and 10% by default
    _config(client, user, {"trading": {"max_position_size": "150.00"}})
    before = _counts(client)
    over = assert_envelope(_trade(client, user), 400, "RISK_LIMIT_EXCEEDED")  # 100 held + 100 > 150
    assert over["error"]["details"]["rule"] == "max_position_size" and "150" in over["error"]["message"]
    for patch, rule in (
        ({"trading": {"max_position_size": "1000", "kill_switch": True}}, "kill_switch"),
        ({"trading": {"kill_switch": False, "enabled": False}}, "enabled"),
    ):
        _config(client, user, patch)
        refused = assert_envelope(_trade(client, user, amount="0.1"), 403, "TRADING_DISABLED")
        assert refused["error"]["details"]["rule"] == rule
    assert _counts(client) == before
    _config(client, user, {"trading": {"enabled": True}})
    assert_envelope(_trade(client, user, side="sell"), 400, "RISK_LIMIT_EXCEEDED")
    _config(client, user, {"trading": {"allow_short": True}, "risk": {"stop_loss": "0.02"}})
    short = _trade(client, user, symbol="ETH_USDT", side="sell", take_profit="80")
    assert short.status_code == 201, short.text
    short_data = short.json()["data"]
    assert (short_data["position_side"], short_data["symbol"]) == ("short", "ETH_USDT")
    assert (short_data["stop_loss"], short_data["take_profit"]) == ("102", "80")  # the given level kept
    _config(client, user, {"risk": {"safu_enabled": False}})
    bare = _trade(client, user, symbol="ETH/USDT", amount="0.5").json()["data"]
    assert (bare["stop_loss"], bare["take_profit"]) == (None, None)


def test_dca_follows_the_configuration_and_a_refused_attempt_is_recorded(client: Any) -> None:
    user = make_user(client)
    trade = _trade(client, user, symbol="SOLUSDT", dca_enabled=True, max_dca_attempts=5).json()["data"]
    _bar(client, "SOL/USDT", 1, 100.0, 100.0, 100.0, 100.0)
    _config(client, user, {"dca": {"enabled": False}})
    body = {"trade_id": trade["id"], "volume": "1"}
    assert_envelope(client.post("/api/dca/execute", json=body, headers=user["headers"]), 400, "DCA_DISABLED")
    _config(client, user, {"dca": {"enabled": True}})
    before = _counts(client)
    over = client.post("/api/dca/execute", json={**body, "volume": "20"}, headers=user["headers"])
    refused = assert_envelope(over, 400, "RISK_LIMIT_EXCEEDED")  # 100 + 2000 over max_position_size 1000
    assert refused["error"]["details"] == {"rule": "max_position_size", "dca_attempt": 1, "recorded": True}
    _config(client, user, {"trading": {"max_position_size": "1000000"}})
    poor = client.post("/api/dca/execute", json={**body, "volume": "200"}, headers=user["headers"])
    assert assert_envelope(poor, 400, "INSUFFICIENT_BALANCE")["error"]["details"]["dca_attempt"] == 2
    after = _counts(client)
    assert (after[0], after[1], after[2]) == (before[0], before[1], before[2] + 2)  # two attempts, no order
    placed = client.post("/api/dca/execute", json={**body, "volume": "0.5"}, headers=user["headers"])
    assert placed.status_code == 200, placed.text
    assert (placed.json()["data"]["dca_attempt"], placed.json()["data"]["volume"]) == (3, "0.5")
    history = client.get("/api/dca/history", params={"trade_id": trade["id"]}, headers=user["headers"])
    attempts = sorted(history.json()["data"]["dca_attempts"], key=lambda a: a["attempt"])
    assert [(a["attempt"], a["success"], a["volume"]) for a in attempts] == [
        (1, False, "20"),
        (2, False, "200"),
    ]
    assert attempts[0]["reason"].startswith("max_position_size") and "balance" in attempts[1]["reason"]
    _config(client, user, {"dca": {"max_attempts": 3}})  # 3 made: the configuration caps the trade's 5
    last = client.post("/api/dca/execute", json={**body, "volume": "0.1"}, headers=user["headers"])
    assert "all 3 DCA attempts" in assert_envelope(last, 400, "INVALID_REQUEST")["error"]["message"]


def _follow(ws: Any, user: dict[str, Any]) -> None:
    ws.send_json({"action": "auth", "token": user["headers"]["Authorization"].split()[1]})
    assert ws.receive_json()["type"] == "authenticated"
    ws.send_json({"action": "subscribe", "channels": ["trading"]})
    assert ws.receive_json()["type"] == "subscribed"


def _quiet(ws: Any) -> None:
    """Nothing else is queued: the next message is the answer to a ping."""
    ws.send_json({"action": "ping"})
    assert ws.receive_json()["type"] == "pong"


def test_fills_and_closes_reach_the_users_websocket_after_commit(client: Any) -> None:
    user = make_user(client)
    with client.websocket_connect("/api/v1/ws/live") as ws:
        _follow(ws, user)
        trade = _trade(client, user, symbol="ADAUSDT", stop_loss="50").json()["data"]
        _quiet(ws)  # placing an order fills nothing
        _bar(client, "ADA/USDT", 1, 101.0, 102.0, 100.0, 102.0)
        filled = ws.receive_json()
        assert (filled["type"], filled["channel"], filled["user_id"]) == (
            "order_filled",
            "trading",
            user["id"],
        )
        fill = filled["data"]
        assert (fill["purpose"], fill["side"], fill["amount"], fill["average_price"]) == (
            "entry",
            "buy",
            "1",
            "101",
        )
        assert (fill["trade"]["id"], fill["trade"]["status"], fill["trade"]["symbol"]) == (
            trade["id"],
            "active",
            "ADA/USDT",
        )
        portfolio = ws.receive_json()
        assert portfolio["type"] == "portfolio_changed"
        assert portfolio["data"] == {
            "asset": "USDT",
            "cash": "9899",
            "reserved_cash": "0",
            "free_cash": "9899",
            "positions_value": "102",
            "equity": "10001",
        }
        _quiet(ws)
        # A write that rolls back (the new trade is refused after settling a stored bar) announces
        # nothing; the next read settles the bar again and announces it once.
        second = _trade(client, user, symbol="ADAUSDT", amount="2", stop_loss="50").json()["data"]
        _store(client, "ADA/USDT", 2, 103.0, 103.0, 103.0, 103.0)
        assert_envelope(_trade(client, user, symbol="ADAUSDT", amount="50"), 400, "RISK_LIMIT_EXCEEDED")
        _quiet(ws)
        client.get("/api/trades/active", headers=user["headers"])
        assert ws.receive_json()["data"]["trade"]["id"] == second["id"]
        assert ws.receive_json()["type"] == "portfolio_changed"
        waiting = _trade(client, user, symbol="ADAUSDT", amount="3", price="60", stop_loss="50")  # a limit
        assert waiting.status_code == 201 and waiting.json()["data"]["status"] == "pending", waiting.text
        _quiet(ws)
        closed = client.post(f"/api/trades/{trade['id']}/close", json={}, headers=user["headers"])
        assert closed.status_code == 200, closed.text
        exit_fill, closing, after = ws.receive_json(), ws.receive_json(), ws.receive_json()
        shown = client.get("/portfolio", headers=user["headers"]).json()
        # what the waiting entry holds: the event's reserved and free cash are GET /portfolio's
        assert float(after["data"]["reserved_cash"]) == shown["reserved_cash"] > 0
        assert float(after["data"]["free_cash"]) == shown["free_cash"] < shown["cash"]
        assert (exit_fill["type"], exit_fill["data"]["purpose"], exit_fill["data"]["side"]) == (
            "order_filled",
            "exit",
            "sell",
        )
        assert closing["type"] == "trade_closed"
        assert (closing["data"]["id"], closing["data"]["pnl"], closing["data"]["reason"]) == (
            trade["id"],
            "2",
            "manual_close",
        )
        assert after["type"] == "portfolio_changed" and after["data"]["positions_value"] == "206"
        _quiet(ws)
