"""The Dagster code location (``workspace.yaml``: python_module assets.definitions)."""

from __future__ import annotations

import dagster as dg

from assets.market import build_market_assets
from assets.resources import settings_resource
from assets.schedules import ingest_schedule
from pipelines.data.universe import resolve_universe
from pipelines.settings import Settings, get_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything Dagster serves for one configuration of the universe."""
    items = resolve_universe(settings)
    market_bars, features = build_market_assets(settings, items)
    ingest_job = dg.define_asset_job("ingest_market_data", selection=[market_bars])
    features_job = dg.define_asset_job("build_features", selection=[features])
    stocks = [i for i in items if not i.symbol.is_crypto]
    crypto = [i for i in items if i.symbol.is_crypto]
    schedules = []
    if stocks:  # 22:30 UTC on weekdays: after the 16:00 New York close in summer and winter time
        schedules.append(ingest_schedule("daily_stock_ingest", "30 22 * * 1-5", stocks, ingest_job))
    if crypto:
        schedules.append(ingest_schedule("hourly_crypto_ingest", "5 * * * *", crypto, ingest_job))
    return dg.Definitions(
        assets=[market_bars, features],
        jobs=[ingest_job, features_job],
        schedules=schedules,
        resources={"tradeforge": settings_resource(settings)},
    )


defs = build_definitions(get_settings())
