"""An activated strategy trades over the real app: activation through the route, a new bar announced
as the live feed does, the order and the trade in the owner's /api/trades/active only;
ml_predictive on a model that is not registered refused at activation with the reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from pipelines.trading.dca import DcaSettings
from pipelines.trading.risk import RiskLimits
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


def _announce(client: Any, n: int) -> None:
    """Bar ``n`` stored, then the live feed's hook called with it."""
    bar = _row(n, 101.0)
    write_bars(client.settings, SYM, [bar])
    frame = pd.DataFrame([(*bar[1:], 1.0)], columns=["open", "high", "low", "close", "volume"]).assign(
        timestamp=pd.DatetimeIndex([bar[0]]).as_unit("ns")
    )
    client.app.state.container.strategy_runs.on_new_bars(SYM, "1m", frame)


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
    _announce(client, 30)
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


def test_an_entry_the_ledger_refuses_leaves_the_strategy_flat_with_the_refusal_shown(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(client)
    desk = client.app.state.container.trade_desk
    monkeypatch.setattr(desk, "limits", lambda _s, _u: (RiskLimits(kill_switch=True), DcaSettings()))
    body = {"name": "hold", "type": "BuyAndHold", "params": {"symbols": ["BTC_USDT"], "capital": 500}}
    sid = client.post("/api/strategies/", json=body, headers=user["headers"]).json()["id"]
    assert client.post(f"/api/strategies/{sid}/activate", headers=user["headers"]).status_code == 200
    _announce(client, 31)  # the entry: refused by the kill switch
    _announce(client, 32)  # the same target: not retried bar after bar
    (runner,) = client.app.state.container.strategy_runs.running(sid)
    assert (runner.position, runner.cash, runner.refusals) == (0.0, 500.0, 1)
    assert client.get("/api/trades/active", headers=user["headers"]).json()["data"]["count"] == 0
    shown = client.get(f"/api/strategies/{sid}", headers=user["headers"]).json()
    assert shown["refused_orders"] == 1 and "kill switch" in shown["last_refusal"]
    listed = client.get("/api/strategies/", headers=user["headers"]).json()
    assert [(s["id"], s["refused_orders"]) for s in listed] == [(sid, 1)]
    assert client.post(f"/api/strategies/{sid}/deactivate", headers=user["headers"]).status_code == 200
