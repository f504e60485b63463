"""The paper trade and DCA routes over the real app: fills from stored bars, refusals that store
nothing, two users kept apart and an admin who sees both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from pipelines.db.trading_models import DcaAttemptRow, OrderRow, PaperBalanceRow, TradeRow
from pipelines.trading.dca import DcaSettings
from pipelines.trading.records import Bar
from pipelines.trading.risk import RiskLimits
from tests.serving_support import app_client, assert_envelope, make_user, served_settings
from tests.trading.support import write_bars

SYM = "BTC/USDT"
# Each test trades its own pair: the bars a test writes ahead of now would fill another test's orders.
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT", "XRP/USDT", "DOT/USDT", "LTC/USDT")


def _minute(offset: int) -> dt.datetime:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    return now + dt.timedelta(minutes=offset)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = served_settings(tmp_path_factory.mktemp("trades") / "home", paper_commission=0.0)
    for pair in PAIRS:
        write_bars(settings, pair, [(_minute(-3), 100.0, 100.0, 100.0, 100.0)])
    with app_client(settings) as c:
        c.settings = settings
        yield c


@pytest.fixture(scope="module")
def trader(client: Any) -> dict[str, Any]:
    """One user for the refusals (a login costs a password hash)."""
    return make_user(client)


def _bar(client: Any, offset: int, o: float, h: float, low: float, c: float, pair: str = SYM) -> None:
    """A new bar, stored and announced as the live feed does."""
    when = _minute(offset)
    write_bars(client.settings, pair, [(when, o, h, low, c)])
    client.app.state.container.trade_desk.on_bar(pair, Bar(when, o, h, low, c))


def _counts(client: Any) -> tuple[int, ...]:
    with client.app.state.container.database.session() as s:
        tables = (TradeRow, OrderRow, DcaAttemptRow, PaperBalanceRow)
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def _open(client: Any, user: dict[str, Any], **body: Any) -> dict[str, Any]:
    answer = client.post(
        "/api/trades",
        json={"symbol": "BTCUSDT", "side": "buy", "amount": "1", **body},
        headers=user["headers"],
    )
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def test_a_trade_fills_on_the_next_bar_is_marked_and_closes_once(client: Any) -> None:
    user = make_user(client)
    opened = _open(client, user, stop_loss="90", take_profit="120")
    assert (opened["status"], opened["symbol"], opened["amount"], opened["price"]) == (
        "pending",
        "BTCUSDT",  # the caller's spelling; lists name it canonically
        "1",
        None,
    )
    _bar(client, 1, 101.0, 103.0, 100.5, 102.0)
    active = client.get("/api/trades/active", params={"symbol": "BTC_USDT"}, headers=user["headers"]).json()
    assert active["status"] == "success" and active["data"]["count"] == 1
    trade = active["data"]["trades"][0]
    assert (trade["status"], trade["entry_price"], trade["current_price"], trade["pnl"]) == (
        "active",
        "101",
        "102",
        "1",
    )
    detail = client.get(f"/api/trades/{opened['id']}", headers=user["headers"]).json()["data"]
    assert (detail["risk_level"], detail["ml_confidence"], detail["dca_history"]) == ("high", None, [])
    closed = client.post(
        f"/api/trades/{opened['id']}/close", json={"reason": "manual_close"}, headers=user["headers"]
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["data"]["status"], closed.json()["data"]["exit_price"]) == ("closed", "102")
    before = _counts(client)
    again = client.post(f"/api/trades/{opened['id']}/close", json={}, headers=user["headers"])
    assert_envelope(again, 409, "TRADE_CLOSED")
    assert _counts(client) == before
    history = client.get("/api/trades/history", params={"status": "closed"}, headers=user["headers"]).json()
    assert [t["id"] for t in history["data"]["trades"]] == [opened["id"]]
    assert history["data"]["total_pnl"] == "1"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"side": "sideways"}, 400, "VALIDATION_ERROR"),
        ({"amount": "0"}, 400, "VALIDATION_ERROR"),
        ({"amount": "-1"}, 400, "VALIDATION_ERROR"),
        ({"amount": "lots"}, 400, "VALIDATION_ERROR"),
        ({"amount": "NaN"}, 400, "VALIDATION_ERROR"),
        ({"symbol": "ZZZ/USDT"}, 400, "INVALID_SYMBOL"),
        ({"symbol": "not a symbol!"}, 400, "INVALID_SYMBOL"),
        ({"stop_loss": "150"}, 400, "INVALID_REQUEST"),  # a long's stop above the price
        ({"take_profit": "50"}, 400, "INVALID_REQUEST"),  # a long's target below the price
        ({"amount": "50"}, 400, "RISK_LIMIT_EXCEEDED"),  # 5000 notional over max_position_size 1000
        ({"side": "sell"}, 400, "RISK_LIMIT_EXCEEDED"),  # shorts not allowed
        ({"unknown": 1}, 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_trades_are_refused_and_store_nothing(
    client: Any, trader: dict[str, Any], body: dict[str, Any], status: int, code: str
) -> None:
    user = trader
    before = _counts(client)
    answer = client.post(
        "/api/trades",
        json={"symbol": "BTCUSDT", "side": "buy", "amount": "1", **body},
        headers=user["headers"],
    )
    envelope = assert_envelope(answer, status, code)
    assert envelope["error"]["message"]
    if code == "RISK_LIMIT_EXCEEDED":
        assert envelope["error"]["details"]["rule"] in {"max_position_size", "allow_short"}
    assert _counts(client) == before


def test_kill_switch_and_dca_on_a_trade_without_dca_are_refused(
    client: Any, trader: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = trader
    trade = _open(client, user, symbol="ETHUSDT")
    _bar(client, 2, 100.0, 100.0, 100.0, 100.0, "ETH/USDT")
    before = _counts(client)
    answer = client.post(
        "/api/dca/execute", json={"trade_id": trade["id"], "volume": "0.5"}, headers=user["headers"]
    )
    assert_envelope(answer, 400, "DCA_DISABLED")
    desk = client.app.state.container.trade_desk
    monkeypatch.setattr(desk, "limits", lambda _s, _u: (RiskLimits(kill_switch=True), DcaSettings()))
    answer = client.post(
        "/api/trades", json={"symbol": "BTCUSDT", "side": "buy", "amount": "1"}, headers=user["headers"]
    )
    assert "kill switch" in assert_envelope(answer, 403, "TRADING_DISABLED")["error"]["message"]
    assert _counts(client) == before


def test_dca_by_hand_and_the_dca_routes(client: Any) -> None:
    user = make_user(client)
    trade = _open(client, user, symbol="SOL_USDT", dca_enabled=True, max_dca_attempts=2)
    _bar(client, 3, 100.0, 100.0, 99.0, 99.0, "SOL/USDT")  # 1% down: no automatic DCA
    placed = client.post(
        "/api/dca/execute", json={"trade_id": trade["id"], "volume": "1"}, headers=user["headers"]
    )
    assert placed.status_code == 200, placed.text
    assert (placed.json()["data"]["success"], placed.json()["data"]["dca_attempt"]) == (True, 1)
    _bar(client, 4, 96.0, 99.0, 96.0, 99.0, "SOL/USDT")
    detail = client.get(f"/api/trades/{trade['id']}", headers=user["headers"]).json()["data"]
    assert (detail["amount"], detail["entry_price"], detail["dca_attempts"], detail["dca_success_rate"]) == (
        "2",
        "98",
        1,
        "100%",
    )
    status = client.get("/api/dca/status", headers=user["headers"]).json()["data"]
    assert (status["enabled"], status["active_trades"], status["total_attempts"], status["total_volume"]) == (
        True,
        1,
        1,
        "96",
    )
    history = client.get(
        "/api/dca/history", params={"trade_id": trade["id"]}, headers=user["headers"]
    ).json()["data"]
    assert [(a["attempt"], a["price"], a["success"]) for a in history["dca_attempts"]] == [(1, "96", True)]


def test_users_see_only_their_trades_and_an_admin_sees_all(client: Any) -> None:
    alice, bob, admin = make_user(client), make_user(client), make_user(client, role="admin")
    key = client.post("/api/v1/auth/keys", json={"name": "k"}, headers=alice["headers"]).json()["key"]
    trade = _open(client, {"headers": {"X-API-Key": key}})
    for path in (f"/api/trades/{trade['id']}",):
        assert_envelope(client.get(path, headers=bob["headers"]), 404, "TRADE_NOT_FOUND")
    assert_envelope(
        client.post(f"/api/trades/{trade['id']}/close", json={}, headers=bob["headers"]),
        404,
        "TRADE_NOT_FOUND",
    )
    assert_envelope(
        client.get("/api/dca/history", params={"trade_id": trade["id"]}, headers=bob["headers"]),
        404,
        "TRADE_NOT_FOUND",
    )
    bobs = client.get("/api/trades/history", headers=bob["headers"]).json()["data"]
    assert bobs["trades"] == [] and bobs["total"] == 0
    everyone = client.get("/api/trades/history", params={"limit": 500}, headers=admin["headers"]).json()[
        "data"
    ]
    assert trade["id"] in {t["id"] for t in everyone["trades"]}
    assert (
        client.get(f"/api/trades/{trade['id']}", headers=admin["headers"]).json()["data"]["user_id"]
        == alice["id"]
    )
    mine = client.get("/api/trades/active", headers={"X-API-Key": key}).json()["data"]
    assert [t["id"] for t in mine["trades"]] == [trade["id"]]


def test_a_retried_request_never_doubles_a_trade(client: Any, trader: dict[str, Any]) -> None:
    user = trader
    headers = {**user["headers"], "Idempotency-Key": "order-0001"}
    first = client.post(
        "/api/trades", json={"symbol": "BTCUSDT", "side": "buy", "amount": "1"}, headers=headers
    )
    before = _counts(client)
    again = client.post(
        "/api/trades", json={"symbol": "BTCUSDT", "side": "buy", "amount": "1"}, headers=headers
    )
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert _counts(client) == before
    by_body = _open(client, user, client_order_id="order-0001")
    assert by_body["id"] == first.json()["data"]["id"]


def test_lists_are_bounded(client: Any, trader: dict[str, Any]) -> None:
    user = trader
    assert_envelope(
        client.get("/api/trades/active", params={"limit": 501}, headers=user["headers"]),
        400,
        "VALIDATION_ERROR",
    )
    assert_envelope(
        client.get("/api/dca/history", params={"limit": 0}, headers=user["headers"]), 400, "VALIDATION_ERROR"
    )
    assert_envelope(client.get("/api/trades/active"), 401, "UNAUTHORIZED")


def test_the_documented_example_request_opens_a_limit_trade(client: Any) -> None:
    user = make_user(client)
    key = client.post("/api/v1/auth/keys", json={"name": "k"}, headers=user["headers"]).json()["key"]
    body = {
        "symbol": "BTCUSDT",
        "side": "buy",
        "amount": "0.001",
        "price": "45000.00",
        "stop_loss": "43000.00",
        "take_profit": "47000.00",
        "dca_enabled": True,
        "max_dca_attempts": 3,
    }
    answer = client.post("/api/trades", json=body, headers={"X-API-Key": key})
    assert answer.status_code == 201, answer.text
    envelope = answer.json()
    assert envelope["status"] == "success" and envelope["timestamp"].endswith("Z")
    data = envelope["data"]
    assert (data["symbol"], data["side"], data["amount"], data["status"]) == (
        "BTCUSDT",
        "buy",
        "0.001",
        "pending",
    )
    assert (data["stop_loss"], data["take_profit"], data["max_dca_attempts"]) == ("43000", "47000", 3)
    window = {"start_date": "2024-01-01", "end_date": "2100-01-01T00:00:00Z"}
    listed = client.get("/api/trades/history", params=window, headers=user["headers"]).json()["data"]
    assert [(t["id"], t["symbol"]) for t in listed["trades"]] == [(data["id"], SYM)]
    backwards = {"start_date": "2100-01-01", "end_date": "2024-01-01"}
    assert_envelope(
        client.get("/api/trades/history", params=backwards, headers=user["headers"]), 400, "INVALID_REQUEST"
    )


def test_open_limit_buys_hold_cash_and_the_portfolio_shows_it(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(client)
    desk = client.app.state.container.trade_desk
    wide = RiskLimits(max_position_size=Decimal(10**9), max_drawdown=Decimal(1))
    monkeypatch.setattr(desk, "limits", lambda _s, _u: (wide, DcaSettings()))
    balance = desk.initial_balance
    amount = balance * Decimal("0.3") / 50  # each limit buy at 50 (never reached) holds 30% of the cash
    for pair in ("LTCUSDT", "DOTUSDT", "XRPUSDT"):
        _open(client, user, symbol=pair, amount=str(amount), price="50")
    before = _counts(client)
    answer = client.post(
        "/api/trades",
        json={"symbol": "ADAUSDT", "side": "buy", "amount": str(amount), "price": "50"},
        headers=user["headers"],
    )
    message = assert_envelope(answer, 400, "INSUFFICIENT_BALANCE")["error"]["message"]
    assert f"free paper balance is {balance * Decimal('0.1'):.2f}" in message
    assert _counts(client) == before
    portfolio = client.get("/portfolio", headers=user["headers"]).json()
    assert portfolio["cash"] == float(balance)
    assert portfolio["reserved_cash"] == pytest.approx(float(balance) * 0.9)
    assert portfolio["free_cash"] == pytest.approx(float(balance) * 0.1)


def test_the_drawdown_rule_measures_the_equity_not_the_cash(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long worth half the balance spends half the cash but loses nothing: the next order passes.
    Once its price falls, the equity (cash plus the position at its last price) is more than
    max_drawdown under its peak: refused by that rule, nothing written."""
    user = make_user(client)
    desk = client.app.state.container.trade_desk
    limits = RiskLimits(max_position_size=Decimal(10**9), max_drawdown=Decimal("0.10"))
    monkeypatch.setattr(desk, "limits", lambda _s, _u: (limits, DcaSettings()))
    _open(client, user, symbol="ADAUSDT", amount="50")  # 5000 of the 10000 at 100
    _bar(client, 1, 100.0, 100.0, 100.0, 100.0, "ADA/USDT")
    _open(client, user, symbol="ADAUSDT", amount="1")  # the cash is 50% under its peak: allowed
    _bar(client, 2, 100.0, 100.0, 70.0, 70.0, "ADA/USDT")  # equity 4900 + 51 * 70 = 8470
    before = _counts(client)
    with desk.database.session() as s:
        stored = s.execute(select(PaperBalanceRow.balance, PaperBalanceRow.peak)).all()
    answer = client.post(
        "/api/trades", json={"symbol": "ADAUSDT", "side": "buy", "amount": "1"}, headers=user["headers"]
    )
    error = assert_envelope(answer, 400, "RISK_LIMIT_EXCEEDED")["error"]
    assert error["details"]["rule"] == "max_drawdown"
    assert "15.30% below its peak" in error["message"]  # (10000 - 8470) / 10000
    assert _counts(client) == before
    with desk.database.session() as s:
        assert s.execute(select(PaperBalanceRow.balance, PaperBalanceRow.peak)).all() == stored
