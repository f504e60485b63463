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
from pipelines.db.trading_models import DcaAttemptRow, OrderRow, PortfolioSnapshotRow, TradeRow
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


def _closed_eth_trade(client: Any, user: dict[str, Any]) -> None:
    """A trade on ETH/USDT bought at 101 and closed at 102 (pnl 1)."""
    desk = client.app.state.container.trade_desk
    write_bars(client.settings, "ETH/USDT", [(_minute(-3), 100.0, 100.0, 100.0, 100.0)])
    opened = client.post(
        "/api/trades", json={"symbol": "ETHUSDT", "side": "buy", "amount": "1"}, headers=user["headers"]
    )
    assert opened.status_code == 201, opened.text
    when = _minute(1)
    write_bars(client.settings, "ETH/USDT", [(when, 101.0, 103.0, 100.5, 102.0)])
    desk.on_bar("ETH/USDT", Bar(when, 101.0, 103.0, 100.5, 102.0))
    closed = desk.close_trade(user["id"], opened.json()["data"]["id"], reason="manual", force=False)
    assert closed["status"] == "closed"


def test_performance_from_the_snapshots_and_the_closed_trades(client: Any, users: Any) -> None:
    alice = users["alice"]
    desk = client.app.state.container.trade_desk
    today = dt.datetime.now(dt.UTC).date()
    with desk.database.transaction() as session:  # two earlier days; today's row is there already
        for back, value in ((2, 9800), (1, 10000)):
            day = today - dt.timedelta(days=back)
            session.add(
                PortfolioSnapshotRow(
                    user_id=alice["id"],
                    day=day,
                    total_value=value,
                    cash=value,
                    positions_value=0,
                    positions=[],
                )
            )
    _closed_eth_trade(client, alice)
    answer = client.get("/api/analytics/performance", params={"period": "7d"}, headers=alice["headers"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success" and body["timestamp"].endswith("Z")
    data = body["data"]
    assert (data["period"], data["symbol"], data["end_date"]) == ("7d", None, today.isoformat())
    assert [r["return"] for r in data["daily_returns"]] == pytest.approx(
        [10000 / 9800 - 1, 10001 / 10000 - 1]
    )
    metrics = data["metrics"]
    assert metrics["total_return"] == pytest.approx(10001 / 9800 - 1)
    assert metrics["max_drawdown"] == 0.0
    assert (metrics["total_trades"], metrics["winning_trades"], metrics["win_rate"]) == (1, 1, 1.0)
    assert metrics["average_win"] == pytest.approx(1 / 101)
    day = client.get("/api/analytics/performance", params={"period": "1d"}, headers=alice["headers"]).json()
    assert len(day["data"]["daily_returns"]) == 1
    for symbol, count in (("ETH_USDT", 1), ("BTCUSDT", 0)):
        only = client.get(
            "/api/analytics/performance", params={"symbol": symbol}, headers=alice["headers"]
        ).json()["data"]
        assert only["metrics"]["total_trades"] == count
    bob = client.get("/api/analytics/performance", headers=users["bob"]["headers"]).json()["data"]
    assert bob["metrics"]["total_trades"] == 0  # Alice's trades are hers
    assert_envelope(
        client.get("/api/analytics/performance", params={"period": "2w"}, headers=alice["headers"]),
        400,
        "VALIDATION_ERROR",
    )
    bad = client.get("/api/analytics/performance", params={"symbol": "??"}, headers=alice["headers"])
    assert bad.status_code == 400, bad.text
    assert client.get("/api/analytics/performance").status_code == 401


def test_risk_of_the_callers_open_positions(client: Any, users: Any) -> None:
    risk = client.get("/api/analytics/risk", headers=users["alice"]["headers"])
    assert risk.status_code == 200, risk.text
    data = risk.json()["data"]
    assert data["concentration_risk"] == 1.0  # everything in one symbol
    assert data["var_95"] is None and any("VaR" in n for n in data["notes"])
    assert data["liquidity_risk"] in ("low", "medium", "high")
    bob = client.get("/api/analytics/risk", headers=users["bob"]["headers"]).json()["data"]
    assert bob["concentration_risk"] is None and bob["liquidity_risk"] is None
    assert client.get("/api/analytics/risk").status_code == 401


def _failures(client: Any, user_id: str) -> None:
    """Two refused DCA attempts and a rejected order, stored as the broker stores them."""
    with client.app.state.container.database.transaction() as session:
        trade_id = session.scalar(
            select(TradeRow.id).where(TradeRow.user_id == user_id, TradeRow.status == "active")
        )
        for n, reason in enumerate(
            (
                "max_position_size: 1200 over 1000",
                "the order needs about 12.50 USDT, the paper balance is 3.00",
            )
        ):
            session.add(
                DcaAttemptRow(
                    trade_id=trade_id, attempt=n + 1, price=1, volume=1, success=False, reason=reason
                )
            )
        session.add(
            OrderRow(
                user_id=user_id,
                client_order_id="x",
                broker="paper",
                symbol=SYM,
                side="buy",
                type="market",
                purpose="entry",
                quantity=1,
                price=None,
                status="rejected",
                filled_quantity=0,
                average_price=None,
                commission=0,
                trade_id=None,
                reason="insufficient balance",
            )
        )


def test_trading_metrics_and_status_come_from_the_trade_store(client: Any, users: Any) -> None:
    _failures(client, users["alice"]["id"])
    text = client.get("/api/metrics/trading").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("tradeforge_active_trades_total", ())] == 1.0
    assert samples[("tradeforge_trading_volume_usd", ())] == 102.0
    assert samples[("tradeforge_dca_successful_attempts_total", ())] == 0.0
    assert samples[("tradeforge_dca_failed_attempts_total", (("reason", "max_position_size"),))] == 1.0
    assert samples[("tradeforge_dca_failed_attempts_total", (("reason", "insufficient_balance"),))] == 1.0
    errors = (
        "tradeforge_trading_errors_total",
        (("error_type", "insufficient_balance"), ("service", "paper")),
    )
    assert samples[errors] == 1.0
    status = client.get("/api/status", headers=users["bob"]["headers"]).json()["data"]["services"]["trading"]
    assert status == {"status": "active", "active_trades": 1, "total_volume": "102.00"}
