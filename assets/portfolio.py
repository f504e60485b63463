"""Asset ``portfolio_snapshots``: every user's paper portfolio stored as the snapshot of one UTC day
(``pipelines.app.portfolio``), partitioned by day; the schedule takes the day that just ended,
shortly after midnight UTC."""

import datetime as dt
from typing import Any

import dagster as dg

from assets.resources import TradeforgeResource
from assets.schedules import schedule_status
from pipelines.app.portfolio import snapshot_everyone
from pipelines.app.trades import TradeDesk

__all__ = ["PORTFOLIO_JOB", "build_portfolio_assets"]

PORTFOLIO_JOB = "snapshot_portfolios"
DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=1)


@dg.asset(
    partitions_def=DAYS,
    group_name="trading",
    kinds={"sql"},
    description="Each user's paper portfolio (cash, positions marked to the newest stored close, total "
    "value) as the snapshot of the partition's UTC day, replacing that day's row. The state is taken "
    "when the run runs, so only today and yesterday are taken; an older day is left as stored.",
)
def portfolio_snapshots(
    context: dg.AssetExecutionContext, tradeforge: TradeforgeResource
) -> dg.MaterializeResult[None]:
    day = dt.date.fromisoformat(context.partition_key)
    today = dt.datetime.now(dt.UTC).date()
    if day < today - dt.timedelta(days=1):
        context.log.info("%s is past: a snapshot is of the portfolio now, so it is left as stored", day)
        return dg.MaterializeResult(metadata={"users": 0, "skipped": True})
    database = tradeforge.database()
    try:
        taken = snapshot_everyone(TradeDesk(tradeforge.settings, database), day)
    finally:
        database.close()
    return dg.MaterializeResult(metadata={"users": taken, "skipped": False})


def build_portfolio_assets(*, running: bool = True) -> tuple[dg.AssetsDefinition, Any, dg.ScheduleDefinition]:
    """The asset, its job, and the schedule taking the day that ended at 00:05 UTC the next day."""
    job = dg.define_asset_job(PORTFOLIO_JOB, selection=[portfolio_snapshots])

    @dg.schedule(
        name="daily_portfolio_snapshot",
        cron_schedule="5 0 * * *",
        job=job,
        execution_timezone="UTC",
        default_status=schedule_status(running),
    )
    def _daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = (context.scheduled_execution_time - dt.timedelta(days=1)).date().isoformat()
        return dg.RunRequest(run_key=f"portfolio:{day}", partition_key=day)

    return portfolio_snapshots, job, _daily
