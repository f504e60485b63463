"""WebSockets over the test client's real connections: prices, predictions, the live channel, /ws."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect

from tests.net_support import NO_REDIS, REDIS_URL, redis_up
from tests.serving_support import app_client, make_user, served_settings


def _token(user: dict[str, Any]) -> str:
    return str(user["headers"]["Authorization"].split()[1])


def test_prediction_stream_gets_updates_on_new_bars(client: Any) -> None:
    user = make_user(client)
    with client.websocket_connect(f"/api/v1/ws/predictions/lgbm_aapl/AAPL?token={_token(user)}") as ws:
        assert ws.receive_json()["type"] == "authenticated"
        first = ws.receive_json()
        assert first["type"] == "prediction_update" and first["model_name"] == "lgbm_aapl"
        assert first["recommendation"] in ("BUY", "SELL", "HOLD") and first["current_price"] > 0
        client.app.state.container.live.on_new_bars("AAPL", "1d")  # what the feed calls on a new bar
        update = ws.receive_json()
        assert update["type"] == "prediction_update" and update["symbol"] == "AAPL"
        ws.send_json({"action": "ping"})
        assert ws.receive_json()["type"] == "pong"


def test_live_channel_actions_errors_and_acks(client: Any) -> None:
    user = make_user(client)
    with client.websocket_connect("/api/v1/ws/live") as ws:
        ws.send_json({"action": "auth", "token": _token(user)})
        assert ws.receive_json()["type"] == "authenticated"
        ws.send_text("{not json")
        assert ws.receive_json()["error"]["message"] == "malformed JSON"
        ws.send_json(["a", "list"])
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"action": "dance"})
        assert "unknown action 'dance'" in ws.receive_json()["error"]["message"]
        ws.send_json({"action": "subscribe", "symbol": "SPY"})
        ack = ws.receive_json()
        assert ack["type"] == "subscribed" and ack["topics"] == ["prices:SPY"]
        ws.send_json({"action": "predict", "model": "lgbm_aapl", "symbol": "SPY"})
        assert ws.receive_json() == {
            "type": "ack",
            "action": "predict",
            "model": "lgbm_aapl",
            "symbol": "SPY",
        }
        prediction = ws.receive_json()
        assert prediction["type"] == "prediction_update" and prediction["symbol"] == "SPY"
        ws.send_json({"action": "predict", "model": "no_such_model", "symbol": "SPY"})
        ws.receive_json()  # the ack
        assert ws.receive_json()["error"]["code"] == "NOT_FOUND"
        ws.send_json({"action": "unsubscribe", "symbol": "SPY"})
        assert ws.receive_json()["type"] == "unsubscribed"
        ws.send_json({"action": "ping"})
        assert ws.receive_json()["type"] == "pong"  # still connected after every error


def test_ws_000_subscribe_channels(client: Any) -> None:
    user = make_user(client)
    with client.websocket_connect(f"/ws?token={_token(user)}") as ws:
        assert ws.receive_json()["type"] == "authenticated"
        ws.send_json({"action": "subscribe", "channels": ["predictions", "market_data"], "symbols": ["AAPL"]})
        ack = ws.receive_json()
        assert ack["type"] == "subscribed" and "prices:AAPL" in ack["topics"]
        assert any(t.startswith("predictions:") and t.endswith(":AAPL") for t in ack["topics"])
        client.app.state.container.live.on_new_bars("AAPL", "1d")
        assert ws.receive_json()["type"] == "prediction_update"
        ws.send_json({"action": "subscribe", "channels": ["gossip"], "symbols": ["AAPL"]})
        assert "channels" in ws.receive_json()["error"]["message"]


def test_bad_credentials_close_the_socket(client: Any) -> None:
    with client.websocket_connect("/api/v1/ws/live?token=garbage") as ws:
        assert ws.receive_json()["error"]["code"] == "UNAUTHORIZED"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
    with client.websocket_connect("/api/v1/ws/prices/AAPL") as ws:
        ws.send_json({"action": "subscribe"})  # not an auth message
        assert ws.receive_json()["error"]["code"] == "UNAUTHORIZED"


def test_price_stream_from_the_synthetic_live_feed(tmp_path: Path) -> None:
    """The demo's live feed (synthetic series continued 600x faster than real time) pushes
    price_update messages as its 1-minute bars close, also of the symbols active strategies trade."""
    settings = served_settings(
        tmp_path / "home", live_speed=600.0, live_symbols=["BTC/USDT"], live_timeframe="1m"
    )
    with app_client(settings) as c:
        user = make_user(c)
        with c.websocket_connect(f"/api/v1/ws/prices/BTC_USDT?token={_token(user)}") as ws:
            assert ws.receive_json()["type"] == "authenticated"
            first = ws.receive_json()
            assert first["type"] == "price_update" and first["symbol"] == "BTC/USDT" and first["price"] > 0
            began = time.monotonic()
            update = ws.receive_json()
            assert update["type"] == "price_update" and update["symbol"] == "BTC/USDT"
            assert time.monotonic() - began < 30
            assert update["price"] > 0 and update["timeframe"] == "1m" and update["timestamp"].endswith("Z")
        # a strategy on a symbol the feed does not carry: the feed follows it while it is active
        body = {"name": "eth", "type": "buy_and_hold", "params": {"symbols": ["ETH_USDT"], "capital": 100}}
        sid = c.post("/api/strategies/", json=body, headers=user["headers"]).json()["id"]
        assert c.post(f"/api/strategies/{sid}/activate", headers=user["headers"]).status_code == 200
        feeds = c.app.state.container.live.feeds
        assert feeds.carried() == {("BTC/USDT", "1m"), ("ETH/USDT", "1m")}
        with c.websocket_connect(f"/api/v1/ws/prices/ETH_USDT?token={_token(user)}") as ws:
            assert ws.receive_json()["type"] == "authenticated"
            assert ws.receive_json()["symbol"] == "ETH/USDT"
        assert c.post(f"/api/strategies/{sid}/deactivate", headers=user["headers"]).status_code == 200
        assert feeds.carried() == {("BTC/USDT", "1m")}


@pytest.mark.redis
@pytest.mark.skipif(not redis_up(), reason=NO_REDIS)
def test_fan_out_across_workers_through_redis(trained_home: Any, tmp_path: Path) -> None:
    """Two app instances (two workers) on one Redis: a bar's prediction update computed by one
    reaches a subscriber connected to the other."""
    settings = trained_home.model_copy(update={"redis_url": REDIS_URL})
    with app_client(settings) as first, app_client(settings) as second:
        user = make_user(first)
        with second.websocket_connect(f"/api/v1/ws/predictions/lgbm_aapl/AAPL?token={_token(user)}") as ws:
            assert ws.receive_json()["type"] == "authenticated"
            assert ws.receive_json()["type"] == "prediction_update"  # the first, from its own worker
            first.app.state.container.live.watch("lgbm_aapl", "AAPL")
            first.app.state.container.live.on_new_bars("AAPL", "1d")  # the other worker's feed
            update = ws.receive_json()
            assert update["type"] == "prediction_update" and update["model_name"] == "lgbm_aapl"


MALFORMED = [
    ("", "malformed JSON"),
    ("nul", "malformed JSON"),
    ("42", "JSON object"),
    ("null", "JSON object"),
    ('"subscribe"', "JSON object"),
    ("{}", "unknown action None"),
    ('{"action": 5}', "unknown action 5"),
    ('{"action": "subscribe"}', "symbol"),
    ('{"action": "subscribe", "symbols": "AAPL"}', "symbols"),
    ('{"action": "subscribe", "symbols": []}', "symbols"),
    ('{"action": "subscribe", "symbol": "??"}', "symbol"),
    ('{"action": "subscribe", "symbol": "AAPL", "channels": "market_data"}', "channels"),
    ('{"action": "predict", "symbol": "AAPL"}', "model"),
    ('{"action": "predict", "model": "lgbm_aapl", "symbol": 3}', "symbol"),
]


@pytest.mark.parametrize(("text", "needle"), MALFORMED)
def test_malformed_messages_are_answered_and_the_connection_kept(client: Any, text: str, needle: str) -> None:
    user = make_user(client)
    with client.websocket_connect(f"/api/v1/ws/live?token={_token(user)}") as ws:
        assert ws.receive_json()["type"] == "authenticated"
        ws.send_text(text)
        answer = ws.receive_json()
        assert answer["type"] == "error" and needle in answer["error"]["message"], answer
        ws.send_json({"action": "ping"})
        assert ws.receive_json()["type"] == "pong"
