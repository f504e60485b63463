"""The nightly ``strategy_optimizations`` asset: one partition per strategy and universe symbol,
materialized over real stored bars with its search logged to MLflow, asked for nightly."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from assets.definitions import build_definitions
from pipelines.app.optimize_nightly import NIGHTLY_SEARCHES
from pipelines.backtest.param_space import parse_constraint, parse_space
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings


def test_the_nightly_searches_are_valid_spaces() -> None:
    for strategy, (ranges, constraints) in NIGHTLY_SEARCHES.items():
        space = parse_space(strategy, ranges)
        assert [parse_constraint(c, list(space)).text for c in constraints] == constraints


def test_an_optimization_partition_materializes_and_lands_in_mlflow(settings: Settings) -> None:
    defs = build_definitions(settings)
    asset = defs.resolve_assets_def("strategy_optimizations")
    keys = {str(k) for k in asset.partitions_def.get_partition_keys()}
    assert keys == {f"{s}|{sym}" for s in NIGHTLY_SEARCHES for sym in ("AAPL", "BTC-USDT")}
    key = dg.MultiPartitionKey({"strategy": "sma_cross", "symbol": "AAPL"})
    result = defs.resolve_job_def("optimize_strategies").execute_in_process(partition_key=key)
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
    assert meta["best_params"]["fast"] < meta["best_params"]["slow"]
    assert "buy and hold of AAPL" in meta["verdict"] and meta["trials_complete"] > 0
    assert 0.0 <= meta["deflated_sharpe"] <= 1.0
    # Out of sample and in sample against buy and hold of the symbol, with the same costs.
    assert "buy and hold of AAPL" in meta["verdict_in_sample"]
    assert {"excess_annual_return", "benchmark_sharpe", "psr_vs_benchmark"} <= set(meta)
    assert (meta["excess_annual_return"] > 0) == meta["verdict"].startswith("beat")
    tracker = MlflowTracker(settings.resolved_mlflow_uri())
    run = tracker.client.get_run(meta["mlflow_run_id"])
    assert run.data.tags["tradeforge.report"] == "optimize" and run.data.params["symbol"] == "AAPL"
    assert float(run.data.params["best_fast"]) == meta["best_params"]["fast"]


def test_the_nightly_schedule_asks_for_every_partition(settings: Settings) -> None:
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("nightly_optimize")
    when = pd.Timestamp("2025-03-01T03:30", tz="UTC").to_pydatetime()
    context = dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert len(requests) == len(NIGHTLY_SEARCHES) * 2
    assert all(r.run_key and r.run_key.endswith(":2025-03-01") for r in requests)
