"""Portfolio snapshots and the trading figures over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipelines.app.accounts import register_user
from pipelines.app.portfolio import current_portfolio, portfolio_history, take_snapshot
from pipelines.app.trades import TradeDesk, TradeRequest
from pipelines.app.trading_metrics import trading_figures
from pipelines.db import open_database
from pipelines.db.trading_models import PortfolioSnapshotRow
from pipelines.errors import InvalidParameterError
from pipelines.settings import Settings
from pipelines.trading.broker import Side
from tests.trading.support import minute, write_bars

T0 = dt.datetime(2025, 1, 6, 10, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = request.getfixturevalue("fresh_pg_url") if request.param == "postgres" else None
    settings = Settings(home=tmp_path / "home", paper_commission=0.0, database_url=url)
    database = open_database(settings)
    with database.transaction() as session:
        user_id = register_user(session, "alice", "correct-horse-battery").id
    write_bars(settings, "BTC/USDT", [(minute(T0, -1), 100.0, 100.0, 100.0, 100.0)])
    clock = Clock()
    yield TradeDesk(settings, database, clock=clock), settings, user_id, clock
    database.close()


def _bar(desk: TradeDesk, settings: Settings, n: int, open_: float, close: float) -> None:
    """A new bar stored and announced (the store's end is read again)."""
    write_bars(settings, "BTC/USDT", [(minute(T0, n), open_, max(open_, close), min(open_, close), close)])
    desk.bars.forget("BTC/USDT")


def _rows(desk: TradeDesk) -> list[tuple[dt.date, Decimal, Decimal]]:
    with desk.database.session() as s:
        rows = s.scalars(select(PortfolioSnapshotRow).order_by(PortfolioSnapshotRow.day)).all()
        return [(r.day, r.total_value, r.positions_value) for r in rows]


def test_a_day_is_one_row_replaced_when_taken_again_and_the_next_day_counts_from_it(desk: Any) -> None:
    desk, settings, user, clock = desk
    desk.open_trade(user, TradeRequest("BTCUSDT", Side.BUY, Decimal("2")))
    day = T0.date()
    take_snapshot(desk, user)  # pending: nothing held yet
    assert _rows(desk) == [(day, Decimal(10000), Decimal(0))]
    _bar(desk, settings, 1, 101.0, 101.5)
    take_snapshot(desk, user)  # filled at 101, marked at 101.5: 10000 - 202 + 203
    assert _rows(desk) == [(day, Decimal(10001), Decimal(203))]
    with desk.database.session() as s:
        (row,) = s.scalars(select(PortfolioSnapshotRow)).all()
        assert [(p["symbol"], p["quantity"], p["current_price"]) for p in row.positions] == [
            ("BTC/USDT", "2", "101.5")
        ]

    clock.now = T0 + dt.timedelta(days=1)
    _bar(desk, settings, 2, 101.5, 102.5)
    state = current_portfolio(desk, user)
    assert (state.total_value, state.daily_pnl, state.total_pnl) == (Decimal(10003), Decimal(2), Decimal(3))
    history = portfolio_history(desk, user, 7)  # today's taken now
    assert history == [
        {"date": day, "value": Decimal(10001)},
        {"date": clock.now.date(), "value": Decimal(10003)},
    ]
    assert portfolio_history(desk, user, 1) == history[1:]
    with pytest.raises(InvalidParameterError, match="days 0"):
        portfolio_history(desk, user, 0)


def test_trading_figures_count_open_trades_and_their_notional(desk: Any) -> None:
    desk, settings, user, _clock = desk
    assert trading_figures(desk.database).active_trades == 0
    desk.open_trade(user, TradeRequest("BTCUSDT", Side.BUY, Decimal("2")))
    pending = trading_figures(desk.database)
    assert (pending.active_trades, pending.volume) == (1, Decimal(0))  # nothing filled yet
    _bar(desk, settings, 1, 101.0, 101.5)
    desk.settle(user)
    figures = trading_figures(desk.database)
    assert (figures.active_trades, figures.volume, figures.dca_failed, figures.errors) == (
        1,
        Decimal(203),
        {},
        {},
    )
