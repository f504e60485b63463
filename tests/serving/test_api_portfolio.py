"""The portfolio and portfolio analytics routes over the real app: marked positions, daily snapshots
(idempotent per day), two users kept apart, bad parameters refused, and the trading metrics and
status read from the trade store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from pipelines.app.portfolio import take_snapshot
from pipelines.db.trading_models import PortfolioSnapshotRow
from pipelines.trading.records import Bar
from tests.serving_support import app_client, assert_envelope, make_user, served_settings
from tests.trading.support import write_bars

SYM = "BTC/USDT"


def _minute(offset: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=offset)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = served_settings(
        tmp_path_factory.mktemp("portfolio") / "home", paper_commission=0.0, paper_slippage=0.0
    )
    write_bars(settings, SYM, [(_minute(-3), 100.0, 100.0, 100.0, 100.0)])
    with app_client(settings) as c:
        c.settings = settings
        yield c


@pytest.fixture(scope="module")
def users(client: Any) -> dict[str, Any]:
    """Alice holds 1 BTC bought at 101 and marked at 102; Bob holds nothing."""
    alice, bob = make_user(client), make_user(client)
    answer = client.post(
        "/api/trades", json={"symbol": "BTCUSDT", "side": "buy", "amount": "1"}, headers=alice["headers"]
    )
    assert answer.status_code == 201, answer.text
    when = _minute(1)
    write_bars(client.settings, SYM, [(when, 101.0, 103.0, 100.5, 102.0)])
    client.app.state.container.trade_desk.on_bar(SYM, Bar(when, 101.0, 103.0, 100.5, 102.0))
    return {"alice": alice, "bob": bob}


def test_each_user_sees_their_own_portfolio_marked_to_the_newest_close(client: Any, users: Any) -> None:
    alice = client.get("/portfolio", headers=users["alice"]["headers"])
    assert alice.status_code == 200, alice.text
    body = alice.json()
    # cash 10000 - 101 = 9899, the position 1 * 102: 10001, one up on the 10000 start
    assert (body["cash"], body["total_value"], body["total_pnl"], body["total_pnl_pct"]) == (
        9899.0,
        10001.0,
        1.0,
        0.01,
    )
    assert body["daily_pnl"] == 1.0  # no snapshot before today: counted from the start
    (position,) = body["positions"]
    assert position["symbol"] == SYM and position["side"] == "long"
    assert (position["quantity"], position["entry_price"], position["current_price"], position["pnl"]) == (
        1.0,
        101.0,
        102.0,
        1.0,
    )
    assert position["pnl_pct"] == pytest.approx(100 / 101)
    assert position["opened_at"].endswith("Z")
    bob = client.get("/portfolio", headers=users["bob"]["headers"]).json()
    assert (bob["cash"], bob["total_value"], bob["positions"], bob["total_pnl"]) == (
        10000.0,
        10000.0,
        [],
        0.0,
    )
    assert_envelope(client.get("/portfolio"), 401, "UNAUTHORIZED")
    assert_envelope(client.get("/portfolio/history"), 401, "UNAUTHORIZED")


def test_history_takes_todays_snapshot_once_and_refuses_bad_days(client: Any, users: Any) -> None:
    headers = users["alice"]["headers"]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    first = client.get("/portfolio/history", headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == [{"date": f"{today}T00:00:00Z", "value": 10001.0}]
    assert client.get("/portfolio/history", params={"days": 1}, headers=headers).json() == first.json()
    assert client.get("/portfolio/history", headers=users["bob"]["headers"]).json() == [
        {"date": f"{today}T00:00:00Z", "value": 10000.0}
    ]
    for bad in ("0", "3651", "x"):
        answer = client.get("/portfolio/history", params={"days": bad}, headers=headers)
        assert answer.status_code == 400, answer.text
        assert "detail" in answer.json()


def test_a_day_taken_again_replaces_its_row(client: Any, users: Any) -> None:
    desk = client.app.state.container.trade_desk
    user_id = users["bob"]["id"]
    day = dt.date(2025, 1, 2)
    take_snapshot(desk, user_id, day)
    with desk.database.transaction() as session:  # a stale row, as if written before a change
        row = session.get(PortfolioSnapshotRow, (user_id, day))
        row.total_value = row.cash = 1
    take_snapshot(desk, user_id, day)
    with desk.database.session() as session:
        rows = session.scalars(select(PortfolioSnapshotRow).where(PortfolioSnapshotRow.day == day)).all()
    assert [(r.user_id, r.total_value, r.cash, r.positions) for r in rows] == [(user_id, 10000, 10000, [])]
    # Bob's day before today now holds 10000: today's pnl counts from it.
    assert client.get("/portfolio", headers=users["bob"]["headers"]).json()["daily_pnl"] == 0.0


def test_performance_and_risk_of_the_callers_portfolio(client: Any, users: Any) -> None:
    headers = users["alice"]["headers"]
    answer = client.get("/api/analytics/performance", params={"period": "7d"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success" and body["timestamp"].endswith("Z")
    data = body["data"]
    assert (data["period"], data["symbol"], data["metrics"]["total_trades"]) == ("7d", None, 0)
    assert data["end_date"] == dt.datetime.now(dt.UTC).date().isoformat()
    only = client.get("/api/analytics/performance", params={"symbol": "ETH_USDT"}, headers=headers).json()
    assert only["data"]["symbol"] == "ETH/USDT"
    assert_envelope(
        client.get("/api/analytics/performance", params={"period": "2w"}, headers=headers),
        400,
        "VALIDATION_ERROR",
    )
    assert client.get("/api/analytics/performance").status_code == 401
    risk = client.get("/api/analytics/risk", headers=headers)
    assert risk.status_code == 200, risk.text
    data = risk.json()["data"]
    assert data["concentration_risk"] == 1.0  # everything in one symbol
    assert data["var_95"] is None and any("VaR" in n for n in data["notes"])
    bob = client.get("/api/analytics/risk", headers=users["bob"]["headers"]).json()["data"]
    assert bob["concentration_risk"] is None and bob["liquidity_risk"] is None


def test_trading_metrics_and_status_come_from_the_trade_store(client: Any, users: Any) -> None:
    text = client.get("/api/metrics/trading").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("tradeforge_active_trades_total", ())] == 1.0
    assert samples[("tradeforge_trading_volume_usd", ())] == 102.0
    assert samples[("tradeforge_dca_successful_attempts_total", ())] == 0.0
    families = {f.name for f in text_string_to_metric_families(text)}
    assert {"tradeforge_trading_errors", "tradeforge_dca_failed_attempts"} <= families
    status = client.get("/api/status", headers=users["bob"]["headers"]).json()["data"]["services"]["trading"]
    assert status == {"status": "active", "active_trades": 1, "total_volume": "102.00"}
