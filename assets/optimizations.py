"""Asset ``strategy_optimizations``: the rule-based strategies re-optimized nightly on each universe
symbol's stored daily bars, logged to MLflow (``pipelines.app.optimize_nightly``)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from assets.resources import TrackerResource, TradeforgeResource
from assets.schedules import schedule_status
from pipelines.app.optimize_nightly import (
    NIGHTLY_SEARCHES,
    NIGHTLY_TRIALS,
    nightly_optimization,
    nightly_summary,
)
from pipelines.data.universe import UniverseItem

OPTIMIZE_JOB = "optimize_strategies"


def build_optimization_assets(
    items: list[UniverseItem], market_bars: dg.AssetsDefinition, *, running: bool = True
) -> tuple[dg.AssetsDefinition, Any, dg.ScheduleDefinition]:
    """The asset (partitioned by strategy and symbol), its job and the nightly schedule."""
    by_key = {i.key: i for i in items}
    partitions = dg.MultiPartitionsDefinition(
        {
            "strategy": dg.StaticPartitionsDefinition(list(NIGHTLY_SEARCHES)),
            "symbol": dg.StaticPartitionsDefinition([i.key for i in items]),
        }
    )

    @dg.asset(
        partitions_def=partitions,
        group_name="backtests",
        kinds={"mlflow", "optuna"},
        deps=[market_bars],
        description=f"The strategy's usual ranges searched with Optuna ({NIGHTLY_TRIALS} trials) on the "
        "symbol's daily bars before a held-out fifth, the best traded on it: best parameters, Sharpe "
        "ratio in and out of sample, deflated Sharpe ratio, PBO, and the trials and a heat map in MLflow.",
    )
    def strategy_optimizations(
        context: dg.AssetExecutionContext, tradeforge: TradeforgeResource, tracker: TrackerResource
    ) -> dg.MaterializeResult[None]:
        key = context.partition_key
        assert isinstance(key, dg.MultiPartitionKey)
        item = by_key[key.keys_by_dimension["symbol"]]
        timeframe = "1d" if "1d" in (t.name for t in item.timeframes) else item.timeframes[0].name
        answer = nightly_optimization(
            tradeforge.settings,
            key.keys_by_dimension["strategy"],
            item.symbol.name,
            item.source,
            timeframe,
            tracker=tracker.open(),
        )
        return dg.MaterializeResult(metadata=nightly_summary(answer.body))

    job = dg.define_asset_job(OPTIMIZE_JOB, selection=[strategy_optimizations])

    @dg.schedule(
        name="nightly_optimize",
        cron_schedule="30 3 * * *",
        job=job,
        execution_timezone="UTC",
        default_status=schedule_status(running),
    )
    def nightly_optimize(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        """03:30 UTC every day, after the nightly retraining has started: every strategy and symbol."""
        day = context.scheduled_execution_time.date().isoformat()
        for key in partitions.get_partition_keys():
            yield dg.RunRequest(run_key=f"{key}:{day}", partition_key=key)

    return strategy_optimizations, job, nightly_optimize
