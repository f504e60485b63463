"""Jobs and schedules: stocks ingested daily after the US close, crypto hourly."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from pipelines.data.universe import UniverseItem


def schedule_status(running: bool) -> dg.DefaultScheduleStatus:
    """The status a schedule starts in on a fresh instance (``automations_running``)."""
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def sensor_status(running: bool) -> dg.DefaultSensorStatus:
    """The status a sensor starts in on a fresh instance (``automations_running``)."""
    return dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED


def ingest_schedule(
    name: str, cron: str, items: list[UniverseItem], job: dg.JobDefinition | Any, *, running: bool = True
) -> dg.ScheduleDefinition:
    """A schedule that asks for the current year's partition of each of ``items``."""

    @dg.schedule(
        name=name,
        cron_schedule=cron,
        job=job,
        execution_timezone="UTC",
        default_status=schedule_status(running),
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        when = context.scheduled_execution_time
        for item in items:
            yield dg.RunRequest(
                run_key=f"{item.key}:{when.isoformat()}",
                partition_key=dg.MultiPartitionKey({"symbol": item.key, "year": str(when.year)}),
                tags={"tradeforge/symbol": item.symbol.name},
            )

    return _schedule
