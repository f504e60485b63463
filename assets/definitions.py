"""The Dagster code location (``workspace.yaml``: python_module assets.definitions)."""

from pathlib import Path

import dagster as dg

from assets.executors import gpu_queue_tags, step_executor
from assets.market import build_market_assets
from assets.models import TRAIN_JOB, build_model_assets, data_growth_sensor, nightly_retrain
from assets.optimizations import build_optimization_assets
from assets.portfolio import build_portfolio_assets
from assets.reports import build_report_assets
from assets.resources import TrackerResource, TradeforgeResource
from assets.schedules import ingest_schedule, sensor_status
from pipelines.data.universe import resolve_universe
from pipelines.models.specs import load_specs
from pipelines.settings import Settings, get_settings


def build_definitions(settings: Settings, specs_path: Path | None = None) -> dg.Definitions:
    """Everything Dagster serves for one configuration of the universe and the model specs."""
    items = resolve_universe(settings)
    specs = load_specs(specs_path)
    market_bars, features = build_market_assets(settings, items)
    trained_models = build_model_assets(specs, items, features, gpu_queue_tags(settings))
    ingest_job = dg.define_asset_job("ingest_market_data", selection=[market_bars])
    features_job = dg.define_asset_job("build_features", selection=[features])
    train_job = dg.define_asset_job(TRAIN_JOB, selection=[trained_models])
    backtest_reports, walk_forward_reports = build_report_assets(specs, trained_models)
    reports_job = dg.define_asset_job("backtest_models", selection=[backtest_reports, walk_forward_reports])
    stocks = [i for i in items if not i.symbol.is_crypto]
    crypto = [i for i in items if i.symbol.is_crypto]
    running = settings.jobs.automations_running
    schedules = []
    if stocks:  # 22:30 UTC on weekdays: after the 16:00 New York close in summer and winter time
        schedules.append(
            ingest_schedule("daily_stock_ingest", "30 22 * * 1-5", stocks, ingest_job, running=running)
        )
    if crypto:
        schedules.append(
            ingest_schedule("hourly_crypto_ingest", "5 * * * *", crypto, ingest_job, running=running)
        )
    schedules.append(nightly_retrain(specs, running=running))
    portfolio, portfolio_job, portfolio_schedule = build_portfolio_assets(running=running)
    schedules.append(portfolio_schedule)
    optimizations, optimize_job, optimize_schedule = build_optimization_assets(
        items, market_bars, running=running
    )
    schedules.append(optimize_schedule)
    # Evaluates the eager condition of `features`; Dagster's implicit one would start stopped.
    automation = dg.AutomationConditionSensorDefinition(
        "default_automation_condition_sensor",
        target=dg.AssetSelection.all(),
        default_status=sensor_status(running),
    )
    tradeforge = TradeforgeResource.of(settings)
    return dg.Definitions(
        assets=[
            market_bars,
            features,
            trained_models,
            backtest_reports,
            walk_forward_reports,
            portfolio,
            optimizations,
        ],
        jobs=[ingest_job, features_job, train_job, reports_job, portfolio_job, optimize_job],
        schedules=schedules,
        sensors=[automation, data_growth_sensor(specs, settings)],
        resources={"tradeforge": tradeforge, "tracker": TrackerResource(tradeforge=tradeforge)},
        executor=step_executor(settings),
    )


defs = build_definitions(get_settings())
