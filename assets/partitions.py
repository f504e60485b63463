"""Partitions of the market assets: universe symbol x calendar year (the Parquet layout's year=Y)."""

from __future__ import annotations

import dagster as dg

from pipelines.data.timeutil import parse_time
from pipelines.data.universe import UniverseItem
from pipelines.settings import Settings


def symbol_partitions(items: list[UniverseItem]) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([item.key for item in items])


def market_partitions(settings: Settings, items: list[UniverseItem]) -> dg.MultiPartitionsDefinition:
    first_year = parse_time(settings.data.history_start).year
    years = dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", start=str(first_year), fmt="%Y", timezone="UTC", end_offset=1
    )
    return dg.MultiPartitionsDefinition({"symbol": symbol_partitions(items), "year": years})
