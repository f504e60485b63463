"""An activated strategy trades over the real app: activation through the route, a new bar announced
as the live feed does, the order and the trade in the owner's /api/trades/active only;
ml_predictive on a model that is not registered refused at activation with the reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from tests.serving_support import app_client, make_user, served_settings
from tests.trading.support import write_bars

SYM = "BTC/USDT"
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _row(n: int, price: float) -> tuple[dt.datetime, float, float, float, float]:
    return (T0 + dt.timedelta(minutes=n), price, price + 0.5, price - 0.5, price + 0.1)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = served_settings(tmp_path_factory.mktemp("strategy-trading") / "home", paper_commission=0.0)
    write_bars(settings, SYM, [_row(n, 100.0 + n * 0.01) for n in range(30)])
    with app_client(settings) as c:
        c.settings = settings
        yield c


def test_an_activated_strategy_places_its_order_on_the_next_bar(client: Any) -> None:
    ann, bob = make_user(client), make_user(client)
    body = {"name": "hold", "type": "BuyAndHold", "params": {"symbols": ["BTC_USDT"], "capital": 500}}
    sid = client.post("/api/strategies/", json=body, headers=ann["headers"]).json()["id"]
    activated = client.post(f"/api/strategies/{sid}/activate", headers=ann["headers"])
    assert activated.status_code == 200, activated.text
    runs = client.app.state.container.strategy_runs
    assert [r.config.symbol for r in runs.running(sid)] == [SYM]
    empty = client.get("/api/trades/active", headers=ann["headers"]).json()["data"]
    assert empty["count"] == 0  # nothing traded before the next bar
    bar = _row(30, 101.0)
    write_bars(client.settings, SYM, [bar])  # the feed stores the bar, then calls its hook
    frame = pd.DataFrame([(*bar[1:], 1.0)], columns=["open", "high", "low", "close", "volume"]).assign(
        timestamp=pd.DatetimeIndex([bar[0]]).as_unit("ns")
    )
    runs.on_new_bars(SYM, "1m", frame)
    active = client.get("/api/trades/active", headers=ann["headers"]).json()["data"]
    assert active["count"] == 1
    trade = active["trades"][0]
    assert (trade["strategy_id"], trade["status"], trade["entry_price"]) == (sid, "active", "101")
    assert client.get("/api/trades/active", headers=bob["headers"]).json()["data"]["count"] == 0
    assert client.post(f"/api/strategies/{sid}/deactivate", headers=ann["headers"]).status_code == 200
    assert runs.running(sid) == []


def test_ml_predictive_on_an_unknown_model_is_refused_at_activation_with_the_reason(client: Any) -> None:
    user = make_user(client)
    body = {"name": "ml", "type": "MLPredictive", "params": {"symbols": ["BTC_USDT"], "model_name": "m"}}
    created = client.post("/api/strategies/", json=body, headers=user["headers"])
    assert created.status_code == 201, created.text
    answer = client.post(f"/api/strategies/{created.json()['id']}/activate", headers=user["headers"])
    assert answer.status_code == 400, answer.text
    assert "no registered model named 'm'" in answer.text
    got = client.get(f"/api/strategies/{created.json()['id']}", headers=user["headers"]).json()
    assert got["status"] == "inactive"
