"""The daily portfolio snapshot asset: materialized for a day it writes every active user's row once
(a rerun replaces it), skips days too old to take, and its schedule asks for the day that ended."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from sqlalchemy import select

from assets.definitions import build_definitions
from assets.portfolio import portfolio_snapshots
from assets.resources import TradeforgeResource
from pipelines.db import open_database
from pipelines.db.trading_models import PortfolioSnapshotRow
from pipelines.db.users import create_user
from pipelines.settings import Settings


def _rows(settings: Settings) -> list[tuple[str, dt.date, object]]:
    database = open_database(settings)
    try:
        with database.session() as session:
            rows = session.scalars(select(PortfolioSnapshotRow).order_by(PortfolioSnapshotRow.user_id))
            return [(r.user_id, r.day, r.total_value) for r in rows]
    finally:
        database.close()


def test_materializing_a_day_snapshots_every_active_user_once(settings: Settings) -> None:
    database = open_database(settings)
    with database.transaction() as session:
        ids = sorted(create_user(session, username=f"snap{i}", password_hash="x").id for i in range(2))
        create_user(session, username="gone", password_hash="x", is_active=False)
    database.close()
    resources = {"tradeforge": TradeforgeResource.of(settings)}
    today = dt.datetime.now(dt.UTC).date()
    for _ in range(2):  # a rerun of the day replaces its rows
        result = dg.materialize([portfolio_snapshots], partition_key=today.isoformat(), resources=resources)
        assert result.success
        (mat,) = result.asset_materializations_for_node("portfolio_snapshots")
        assert mat.metadata["users"].value == 2
    assert _rows(settings) == [(ids[0], today, 10000), (ids[1], today, 10000)]
    old = dg.materialize([portfolio_snapshots], partition_key="2025-01-01", resources=resources)
    (mat,) = old.asset_materializations_for_node("portfolio_snapshots")
    assert mat.metadata["skipped"].value is True
    assert len(_rows(settings)) == 2


def test_the_schedule_asks_for_the_day_that_just_ended(settings: Settings) -> None:
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("daily_portfolio_snapshot")
    assert schedule.cron_schedule == "5 0 * * *"
    when = dt.datetime(2026, 3, 2, 0, 5, tzinfo=dt.UTC)
    repo = defs.get_repository_def()
    with dg.build_schedule_context(scheduled_execution_time=when, repository_def=repo) as context:
        data = schedule.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests or []] == ["2026-03-01"]
