"""Exchange trading over the real app and job queue, with Binance and 3Commas replayed locally.

POST /api/sync: the venue's trades land in the trade store once however often it syncs, a running sync
is answered instead of a second one, the health routes show when it finished, and a failing venue
stores nothing. POST /api/trades with a ``broker``: the order goes to the venue once per client order
id and the trade's fills are read back from the venue."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from pipelines.app.exchange_exits import on_tick, venue_symbols
from pipelines.db.trading_models import TradeRow
from pipelines.trading.records import Bar
from tests.serving_support import app_client, assert_envelope, make_user, served_settings, wait_for_job
from tests.trading.replay import Replay, replay_server

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    with replay_server() as server:
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, replay: Replay) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("sync") / "home"
    settings = served_settings(home, exchange_api_urls={"binance": replay.url, "3commas": replay.url})
    with app_client(settings) as c:
        yield c


def with_key(app: Any, venue: str) -> dict[str, Any]:
    user = make_user(app)
    body = {"provider_id": venue, "api_key": KEY, "api_secret": SECRET}
    assert app.post("/api/keys/", json=body, headers=user["headers"]).status_code == 201
    return user


def sync(app: Any, user: dict[str, Any], source: str, **extra: Any) -> dict[str, Any]:
    answer = app.post("/api/sync", json={"source": source, **extra}, headers=user["headers"])
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "success" and body["timestamp"].endswith("Z")
    assert body["data"]["status"] == "syncing" and body["data"]["source"] == source
    return dict(body["data"])


def venue_trades(app: Any, user: dict[str, Any], broker: str) -> list[dict[str, Any]]:
    answer = app.get("/api/trades/history", headers=user["headers"])
    assert answer.status_code == 200, answer.text
    return [t for t in answer.json()["data"]["trades"] if t["broker"] == broker]


def test_binance_sync_stores_each_venue_trade_once_and_sets_last_sync(app: Any, replay: Replay) -> None:
    user = make_user(app)
    refused = app.post("/api/sync", json={"source": "binance"}, headers=user["headers"])
    assert "no Binance API key" in assert_envelope(refused, 400, "INVALID_REQUEST")["error"]["message"]
    unknown = app.post("/api/sync", json={"source": "nasdaq-direct"}, headers=user["headers"])
    assert_envelope(unknown, 400, "INVALID_REQUEST")
    user = with_key(app, "binance")

    replay.delay = 0.3  # the venue is slow: the first sync is still running when asked again
    try:
        first = sync(app, user, "binance")
        again = sync(app, user, "binance")
    finally:
        replay.delay = 0.0
    assert again["job_id"] == first["job_id"] and again["already_running"] is True
    assert first["sync_started"].endswith("Z")
    job = wait_for_job(app, first["job_id"], user["headers"])
    assert job["status"] == "completed", job
    assert job["result"]["balances"] == {"BTC": "0.0512", "ETH": "1.5", "USDT": "5000"}
    assert (job["result"]["trades_seen"], job["result"]["trades_added"]) == (2, 2)

    second = sync(app, user, "binance")
    assert second["job_id"] != first["job_id"] and second["already_running"] is False
    job2 = wait_for_job(app, second["job_id"], user["headers"])
    assert (job2["status"], job2["result"]["trades_added"]) == ("completed", 0)

    trades = venue_trades(app, user, "binance")  # the sell closed part of the buy: one round trip
    assert sorted((t["status"], t["amount"], t["entry_price"], t["exit_price"]) for t in trades) == [
        ("active", "0.007", "97012.5", None),
        ("closed", "0.005", "97012.5", "98120.01"),
    ]
    trip = next(t for t in trades if t["status"] == "closed")
    commission = Decimal("1.16415") * 5 / 12 + Decimal("0.49060005")
    assert Decimal(trip["commission"]) == commission
    assert Decimal(trip["pnl"]) == (Decimal("98120.01") - Decimal("97012.5")) * Decimal("0.005") - commission
    portfolio = app.get("/portfolio", headers=user["headers"]).json()
    balances = {(b["venue"], b["environment"], b["asset"]): b for b in portfolio["exchange_balances"]}
    assert set(balances) == {("binance", "testnet", a) for a in ("BTC", "ETH", "USDT")}
    assert portfolio["positions"] == []  # the synced BTC still held is in the balances, not counted twice
    assert (
        balances[("binance", "testnet", "USDT")]["total"],
        balances[("binance", "testnet", "USDT")]["free"],
    ) == (
        5000.0,
        4250.12345678,
    )
    health = app.get("/api/binance/health", headers=user["headers"]).json()["data"]
    assert health["last_sync"] == job2["finished_at"]
    other = make_user(app)  # another user sees none of them
    assert venue_trades(app, other, "binance") == []
    assert app.get("/portfolio", headers=other["headers"]).json()["exchange_balances"] == []


def test_three_commas_deals_sync_as_trades(app: Any) -> None:
    user = with_key(app, "3commas")
    started = sync(app, user, "3commas")
    job = wait_for_job(app, started["job_id"], user["headers"])
    assert job["status"] == "completed", job
    assert job["result"]["balances"] == {"account:31245678:USD": "10234.56", "account:31245990:USD": "49000"}
    assert (job["result"]["trades_seen"], job["result"]["trades_added"]) == (2, 2)
    forced = sync(app, user, "3commas", force=True)
    assert wait_for_job(app, forced["job_id"], user["headers"])["result"]["trades_added"] == 0
    trades = {t["symbol"]: t for t in venue_trades(app, user, "3commas")}
    assert set(trades) == {"BTC/USDT", "ETH/USDT"}
    closed, active = trades["BTC/USDT"], trades["ETH/USDT"]
    assert (closed["status"], closed["pnl"], closed["exit_price"]) == ("closed", "13.89", "98280")
    assert (active["status"], active["entry_price"], active["amount"]) == ("active", "3633", "0.35")
    close = app.post(f"/api/trades/{active['id']}/close", json={}, headers=user["headers"])
    assert "on 3commas" in assert_envelope(close, 409, "CONFLICT")["error"]["message"]
    health = app.get("/api/3commas/health", headers=user["headers"]).json()["data"]
    assert health["last_sync"] is not None


def test_a_failing_venue_fails_the_job_and_stores_nothing(app: Any, replay: Replay) -> None:
    user = with_key(app, "binance")
    replay.answers[("GET", "/api/v3/myTrades")] = (503, "binance_unavailable.json")
    try:
        started = sync(app, user, "binance")
        job = wait_for_job(app, started["job_id"], user["headers"])
    finally:
        replay.answers.clear()
    assert job["status"] == "failed" and "Binance failed" in job["error"], job
    assert SECRET not in job["error"] and KEY not in job["error"]
    assert venue_trades(app, user, "binance") == []
    health = app.get("/api/binance/health", headers=user["headers"]).json()["data"]
    assert health["last_sync"] is None


def test_an_exchange_trade_is_placed_once_and_fills_from_the_venue(app: Any, replay: Replay) -> None:
    user = with_key(app, "binance")
    replay.orders, replay.fill_orders = {}, False
    order = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.0123456", "broker": "binance"}
    try:
        placed = app.post("/api/trades", json=order | {"client_order_id": "tf-x-1"}, headers=user["headers"])
        assert placed.status_code == 201, placed.text
        trade = placed.json()["data"]
        assert (trade["broker"], trade["status"], trade["amount"]) == ("binance", "pending", "0.0123456")
        again = app.post("/api/trades", json=order | {"client_order_id": "tf-x-1"}, headers=user["headers"])
        assert again.json()["data"]["id"] == trade["id"] and replay.count("POST", "/api/v3/order") == 1
        assert "quantity=0.01234" in next(r for r in replay.requests if r.method == "POST").body.decode()

        replay.answers[("GET", "/api/v3/order")] = (503, "binance_unavailable.json")
        down = app.get(f"/api/trades/{trade['id']}", headers=user["headers"])  # the venue fails: as stored
        assert down.status_code == 200 and down.json()["data"]["status"] == "pending"
        replay.answers.clear()
        replay.fill("tf-x-1")  # the venue fills it; reading the trade asks the venue, not the bars
        read = app.get(f"/api/trades/{trade['id']}", headers=user["headers"]).json()["data"]
        assert (read["status"], read["amount"], read["entry_price"]) == ("active", "0.01234", "98120.4")
        assert Decimal(read["commission"]) == Decimal("0.00001234") * Decimal("98120.4")
        assert replay.requests[-1].method == "GET" and replay.requests[-1].query["orderId"] == ["100402"]

        replay.fill_orders = True  # the closing market order fills at once
        close = app.post(f"/api/trades/{trade['id']}/close", json={}, headers=user["headers"])
        assert close.status_code == 200, close.text
        closed = close.json()["data"]
        sent = [r.body.decode() for r in replay.requests if r.method == "POST"][-1]
        exit_id = "tfx" + trade["id"].replace("-", "")
        assert "side=SELL" in sent and "quantity=0.01234" in sent and f"newClientOrderId={exit_id}" in sent
        fee = Decimal("0.00001234") * Decimal("98120.4")
        assert (closed["status"], closed["exit_price"], closed["close_reason"]) == (
            "closed",
            "98120.4",
            "manual_close",
        )
        assert Decimal(closed["commission"]) == 2 * fee and Decimal(closed["pnl"]) == -2 * fee
        again = app.post(f"/api/trades/{trade['id']}/close", json={}, headers=user["headers"])
        assert_envelope(again, 409, "TRADE_CLOSED")
        assert replay.count("POST", "/api/v3/order") == 2  # one entry, one exit: never doubled
    finally:
        replay.orders, replay.fill_orders = None, True

    for broker, problem in (("kraken", "no Kraken live API key"), ("3commas", "opened by its bots")):
        refused = app.post("/api/trades", json=order | {"broker": broker}, headers=user["headers"])
        assert problem in assert_envelope(refused, 400, "INVALID_REQUEST")["error"]["message"]
    poor = make_user(app)
    refused = app.post("/api/trades", json=order, headers=poor["headers"])
    assert (
        "no Binance testnet API key" in assert_envelope(refused, 400, "INVALID_REQUEST")["error"]["message"]
    )


def test_exchange_entries_are_funded_cancelled_gated_and_stopped_at_the_venue(
    app: Any, replay: Replay, caplog: pytest.LogCaptureFixture
) -> None:
    user = with_key(app, "binance")
    container = app.app.state.container
    order = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.01", "broker": "binance"}
    replay.orders, replay.fill_orders = {}, False
    base = (replay.count("POST", "/api/v3/order"), replay.count("DELETE", "/api/v3/order"))

    def sent(method: str = "POST") -> int:  # orders this test sent (the replay is the module's)
        return replay.count(method, "/api/v3/order") - base[method == "DELETE"]

    try:
        for body, asset in (
            (order | {"amount": "0.05"}, "USDT"),
            (order | {"side": "sell", "amount": "0.06"}, "BTC"),
        ):
            poor = app.post("/api/trades", json=body, headers=user["headers"])
            message = assert_envelope(poor, 400, "INSUFFICIENT_BALANCE")["error"]["message"]
            assert f"free {asset}" in message and "short by" in message and SECRET not in message
        assert sent() == 0 and venue_trades(app, user, "binance") == []

        pending = app.post("/api/trades", json=order, headers=user["headers"]).json()["data"]
        cancel = app.post(f"/api/trades/{pending['id']}/close", json={}, headers=user["headers"])
        assert cancel.status_code == 200 and cancel.json()["data"]["status"] == "cancelled", cancel.text
        assert sent("DELETE") == 1 and sent() == 1

        replay.fill_orders = True
        levels = {"stop_loss": "97000", "take_profit": "99000", "client_order_id": "tf-sl-1"}
        held = app.post("/api/trades", json=order | levels, headers=user["headers"]).json()["data"]
        assert held["status"] == "active"
        venues = container.trade_desk.venues
        assert venue_symbols(venues, ["BTC/USDT", "XRP/USDT"]) == {"BTC/USDT"}  # a tick asks only these
        when = dt.datetime.now(dt.UTC)
        container.trade_desk.on_bar("BTC/USDT", Bar(when, 98000.0, 98500.0, 97500.0, 98100.0))  # no level
        assert sent() == 2
        container.trade_desk.on_bar("BTC/USDT", Bar(when, 98000.0, 98100.0, 96900.0, 97000.0))
        stopped = app.get(f"/api/trades/{held['id']}", headers=user["headers"]).json()["data"]
        assert (stopped["status"], stopped["close_reason"]) == ("closed", "stop_loss")
        assert "side=SELL" in [r for r in replay.requests if r.method == "POST"][-1].body.decode()
        target = app.post("/api/trades", json=order | {"take_profit": "99000"}, headers=user["headers"])
        bar = {"timestamp": [pd.Timestamp.now(tz="UTC")], "open": [98e3], "high": [99.1e3], "low": [97.9e3]}
        on_tick(
            container.trade_desk.venues, {"BTC/USDT": pd.DataFrame(bar | {"close": [99e3], "volume": [1.0]})}
        )
        taken = app.get(f"/api/trades/{target.json()['data']['id']}", headers=user["headers"]).json()["data"]
        assert (taken["status"], taken["close_reason"], sent()) == ("closed", "take_profit", 5)

        replay.fill_orders = False  # an exit the venue lets expire unfilled is sent again on the next close
        body = order | {"client_order_id": "tf-exp-1"}
        expiring = app.post("/api/trades", json=body, headers=user["headers"]).json()["data"]
        replay.fill("tf-exp-1")
        close_url = f"/api/trades/{expiring['id']}/close"
        assert app.post(close_url, json={}, headers=user["headers"]).json()["data"]["status"] == "active"
        digits = expiring["id"].replace("-", "")
        replay.orders[f"tfx{digits}"]["status"] = "EXPIRED"
        asked = app.post(close_url, json={}, headers=user["headers"]).json()["data"]
        assert (asked["status"], asked["close_reason"], sent()) == ("active", None, 7)
        replay.fill_orders = True
        retried = app.post(close_url, json={}, headers=user["headers"]).json()["data"]
        assert (retried["status"], retried["exit_price"], sent()) == ("closed", "98120.4", 8)
        assert f"newClientOrderId=tfx{digits[:29]}r01" in replay.requests[-1].body.decode()

        live = {"provider_id": "binance", "environment": "live", "api_key": KEY[::-1], "api_secret": SECRET}
        assert app.post("/api/keys/", json=live, headers=user["headers"]).status_code == 201
        refused = app.post("/api/trades", json=order | {"environment": "live"}, headers=user["headers"])
        body = assert_envelope(refused, 403, "TRADING_DISABLED")["error"]
        assert (
            "TRADEFORGE_ALLOW_LIVE_TRADING" in body["message"]
            and body["details"]["rule"] == "allow_live_trading"
        )
        assert sent() == 8
        exchanges = container.trade_desk.venues._settings.exchanges
        exchanges.allow_live_trading = True
        try:
            live_order = order | {"environment": "live", "stop_loss": "90000"}
            opened = app.post("/api/trades", json=live_order, headers=user["headers"])
        finally:
            exchanges.allow_live_trading = False
        assert opened.status_code == 201 and replay.requests[-1].headers["X-MBX-APIKEY"] == KEY[::-1]
        with container.database.session() as s:
            assert s.get(TradeRow, opened.json()["data"]["id"]).environment == "live"  # closes with it too
    finally:
        replay.orders, replay.fill_orders = None, True

    only_live = make_user(app)
    body = {"provider_id": "binance", "environment": "live", "api_key": KEY, "api_secret": SECRET}
    assert app.post("/api/keys/", json=body, headers=only_live["headers"]).status_code == 201
    missing = app.post("/api/trades", json=order, headers=only_live["headers"])
    assert "environment 'live'" in assert_envelope(missing, 400, "INVALID_REQUEST")["error"]["message"]
    live_id = opened.json()["data"]["id"]
    replay.refuse = True  # a refusing key on close: 503 without the secret, the trade untouched
    try:
        closing = app.post(f"/api/trades/{live_id}/close", json={}, headers=user["headers"])
        with caplog.at_level(logging.INFO, logger="tradeforge"):
            container.trade_desk.on_bar("BTC/USDT", Bar(when, 9e4, 9e4, 8.9e4, 8.9e4))  # stop crossed
    finally:
        replay.refuse = False
    error = assert_envelope(closing, 503, "EXTERNAL_API_ERROR")["error"]["message"]
    assert (
        "refused the credentials" in caplog.text and f"stop_loss of exchange trade {live_id}" in caplog.text
    )
    for text in (error, caplog.text):
        assert SECRET not in text and KEY not in text and KEY[::-1] not in text
    assert app.get(f"/api/trades/{live_id}", headers=user["headers"]).json()["data"]["status"] == "active"
