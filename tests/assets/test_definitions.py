"""The Dagster code location: definitions resolve, assets materialize over real files, checks run."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from assets.definitions import build_definitions
from assets.market import build_market_assets
from assets.resources import TradeforgeResource
from pipelines.data.universe import history_years, resolve_universe
from pipelines.data.warehouse import Warehouse
from pipelines.features.store import load_features
from pipelines.settings import Settings


@pytest.fixture
def defs(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


def test_module_defs_resolve_every_job_and_schedule() -> None:
    from assets.definitions import defs as module_defs

    repo = module_defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {
        "ingest_market_data",
        "build_features",
        "train_models",
        "backtest_models",
        "snapshot_portfolios",
        "optimize_strategies",
    }
    assert {s.name for s in repo.schedule_defs} == {
        "daily_stock_ingest",
        "hourly_crypto_ingest",
        "nightly_retrain",
        "daily_portfolio_snapshot",
        "nightly_optimize",
    }
    assert {s.name for s in repo.sensor_defs} >= {"retrain_on_data_growth"}
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert keys == {
        "market_bars",
        "features",
        "trained_models",
        "backtest_reports",
        "walk_forward_reports",
        "portfolio_snapshots",
        "strategy_optimizations",
    }


def test_partitions_are_symbol_by_year(defs: dg.Definitions) -> None:
    market = defs.resolve_assets_def("market_bars")
    assert isinstance(market.partitions_def, dg.MultiPartitionsDefinition)
    keys = market.partitions_def.get_partition_keys(current_time=pd.Timestamp("2025-03-01", tz="UTC"))
    assert sorted(str(k) for k in keys) == ["AAPL|2024", "AAPL|2025", "BTC-USDT|2024", "BTC-USDT|2025"]
    checks = {
        k.name
        for k in defs.resolve_asset_graph().asset_check_keys
        if k.asset_key == dg.AssetKey("market_bars")
    }
    assert checks == {
        "timestamps_unique_increasing",
        "ohlc_consistent",
        "volume_non_negative",
        "no_unexpected_gaps",
    }


def test_materialize_market_bars_then_features(settings: Settings) -> None:
    market, features = build_market_assets(settings, resolve_universe(settings))
    resources = {"tradeforge": TradeforgeResource.of(settings)}
    key = dg.MultiPartitionKey({"symbol": "BTC-USDT", "year": "2024"})
    result = dg.materialize([market], partition_key=key, resources=resources)
    assert result.success
    (mat,) = result.asset_materializations_for_node("market_bars")
    assert mat.metadata["rows_written"].value == 366 + 366 * 24  # 2024 is a leap year: daily and hourly bars
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {
        "timestamps_unique_increasing",
        "ohlc_consistent",
        "volume_non_negative",
        "no_unexpected_gaps",
    }
    assert all(e.passed for e in evaluations.values())
    # Running the same partition again fetches nothing new: ingest is idempotent.
    again = dg.materialize([market], partition_key=key, resources=resources)
    assert again.asset_materializations_for_node("market_bars")[0].metadata["rows_written"].value == 0

    feats = dg.materialize(
        [features, market], selection=[features], partition_key="BTC-USDT", resources=resources
    )
    assert feats.success
    table = load_features(settings, source="synthetic", symbol="BTC/USDT", timeframe="1h")
    assert len(table) == 366 * 24 and "rsi_14" in table.columns and "label_fwd_ret_1" in table.columns
    counted = Warehouse(settings).query("SELECT count(*) AS n FROM features WHERE timeframe = '1h'")
    assert counted["n"].iloc[0] == 366 * 24


def test_a_failing_provider_fails_the_run(settings: Settings) -> None:
    from pipelines.settings import UniverseEntry

    broken = settings.model_copy(
        update={"universe": [UniverseEntry(symbol="AAPL", source="file", timeframes=["1d"])]}
    )
    job = build_definitions(broken).resolve_job_def("ingest_market_data")
    result = job.execute_in_process(
        partition_key=dg.MultiPartitionKey({"symbol": "AAPL", "year": "2024"}), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "needs --path" in str(failure.event_specific_data)
    assert not settings.market_dir.exists()


def test_schedules_request_the_current_year_per_symbol(defs: dg.Definitions) -> None:
    hourly = defs.resolve_schedule_def("hourly_crypto_ingest")
    context = dg.build_schedule_context(
        scheduled_execution_time=pd.Timestamp("2025-05-01 10:05", tz="UTC"),
        repository_def=defs.get_repository_def(),
    )
    requests = list(hourly.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["BTC-USDT|2025"]
    daily = defs.resolve_schedule_def("daily_stock_ingest")
    assert daily.cron_schedule == "30 22 * * 1-5"
    requests = list(daily.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["AAPL|2025"]


def materialize_data(defs: dg.Definitions, settings: Settings, symbol: str) -> None:
    """``market_bars`` for every year of ``symbol``, then its ``features``: what training reads."""
    ingest = defs.resolve_job_def("ingest_market_data")
    for year in history_years(settings):
        key = dg.MultiPartitionKey({"symbol": symbol, "year": year})
        assert ingest.execute_in_process(partition_key=key).success
    assert defs.resolve_job_def("build_features").execute_in_process(partition_key=symbol).success


SPECS = """
defaults: {source: synthetic, lookback_days: 900, validation_split: 0.2, horizon: 1}
specs:
  - {kind: lightgbm, symbol: AAPL, timeframe: 1d, model_name: lgbm_aapl, params: {n_estimators: 30}}
  - {kind: simple, symbol: BTC/USDT, timeframe: 1d, model_name: ridge_btc, retrain_growth: 0.5}
"""


def test_trained_models_asset_trains_registers_and_checks(settings: Settings, tmp_path: Path) -> None:
    from pipelines.models.tracking import MlflowTracker

    specs = tmp_path / "specs.yaml"
    specs.write_text(SPECS)
    defs = build_definitions(settings, specs_path=specs)
    assert defs.resolve_assets_def("trained_models").partitions_def.get_partition_keys() == [
        "lightgbm-AAPL-1d",
        "simple-BTC-USDT-1d",
    ]
    materialize_data(defs, settings, "AAPL")
    job = defs.resolve_job_def("train_models")
    result = job.execute_in_process(partition_key="lightgbm-AAPL-1d")
    assert result.success
    (mat,) = result.asset_materializations_for_node("trained_models")
    assert mat.metadata["version"].value == "1" and mat.metadata["champion"].value is True
    assert mat.metadata["device"].value == "cpu"
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["validation_metrics_finite"].passed
    assert "directional_accuracy_above_chance" in checks
    tracker = MlflowTracker(settings.resolved_mlflow_uri())
    assert tracker.alias_version("lgbm_aapl", "champion") is not None
    assert defs.resolve_assets_def("trained_models").op.pool == "gpu"
    # The nightly retrain of the same spec is judged by the same rule as the CLI and the API.
    again = job.execute_in_process(partition_key="lightgbm-AAPL-1d")
    assert again.success
    (mat,) = again.asset_materializations_for_node("trained_models")
    compared = mat.metadata["champion_comparison"].value
    assert compared["window_of"] == "candidate" and compared["rows"] > 0 and compared["champion_version"]
    # the held-out PSR is measured and shown even while no setting makes it a criterion
    assert 0.0 <= compared["candidate_psr"] <= 1.0 and compared["min_psr"] is None
    assert compared["trials"] == 2 and 0.0 <= compared["deflated_sharpe"] <= 1.0
    assert mat.metadata["version"].value == "2" and "validation window" in mat.metadata["decision"].value


def test_nightly_schedule_and_growth_sensor(settings: Settings, tmp_path: Path) -> None:
    from pipelines.data.ingest import ingest, plan_ingest

    specs = tmp_path / "specs.yaml"
    specs.write_text(SPECS)
    defs = build_definitions(settings, specs_path=specs)
    nightly = defs.resolve_schedule_def("nightly_retrain")
    assert nightly.cron_schedule == "0 2 * * *"
    context = dg.build_schedule_context(
        scheduled_execution_time=pd.Timestamp("2025-05-01 02:00", tz="UTC"),
        repository_def=defs.get_repository_def(),
    )
    assert [r.partition_key for r in nightly.evaluate_tick(context).run_requests or []] == [
        "lightgbm-AAPL-1d",
        "simple-BTC-USDT-1d",
    ]
    sensor = defs.resolve_sensor_def("retrain_on_data_growth")

    def tick(cursor: str | None) -> dg.SensorResult:
        ctx = dg.build_sensor_context(cursor=cursor, repository_def=defs.get_repository_def())
        return sensor.evaluate_tick(ctx)

    def load(end: str) -> None:
        plan = plan_ingest(
            settings, source="synthetic", symbols=["BTC/USDT"], timeframe="1d", start="2024-01-01", end=end
        )
        ingest(settings, plan)

    load("2024-03-01")
    first = tick(None)
    assert not first.run_requests  # first sight sets the baseline
    load("2024-03-20")  # 60 -> 79 bars: +32%, below the spec's 50%
    second = tick(first.cursor)
    assert not second.run_requests
    load("2024-04-01")  # 91 bars: +52%
    third = tick(second.cursor)
    assert [r.partition_key for r in third.run_requests or []] == ["simple-BTC-USDT-1d"]
    assert json.loads(third.cursor or "{}")["simple-BTC-USDT-1d"] == 91


def test_backtest_and_walk_forward_reports_land_in_mlflow(settings: Settings, tmp_path: Path) -> None:
    from pipelines.app.reports import latest_reports
    from pipelines.cli.tables import reports_table
    from pipelines.models.tracking import MlflowTracker

    specs = tmp_path / "specs.yaml"
    specs.write_text(SPECS)
    defs = build_definitions(settings, specs_path=specs)
    materialize_data(defs, settings, "AAPL")
    assert defs.resolve_job_def("train_models").execute_in_process(partition_key="lightgbm-AAPL-1d").success
    result = defs.resolve_job_def("backtest_models").execute_in_process(partition_key="lightgbm-AAPL-1d")
    assert result.success
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    }
    assert meta["backtest_reports"]["model_version"].value == "1"
    assert set(meta["backtest_reports"]["comparison"].value) == {"model", "sma_cross", "buy_and_hold"}
    assert meta["walk_forward_reports"]["folds"].value >= 5
    for asset in ("backtest_reports", "walk_forward_reports"):
        assert "buy and hold of AAPL" in meta[asset]["verdict"].value
        assert 0.0 <= meta[asset]["psr_vs_zero"].value <= 1.0
        assert isinstance(meta[asset]["significant"].value, bool)
    assert 0.0 <= meta["backtest_reports"]["deflated_sharpe"].value <= 1.0  # model and sma_cross: 2 trials
    assert meta["backtest_reports"]["significance_verdict"].value.startswith("deflated Sharpe ratio: ")
    wf_meta = meta["walk_forward_reports"]
    assert {"in_sample_sharpe", "out_of_sample_sharpe"} <= set(wf_meta)  # what the efficiency divides
    if wf_meta["in_sample_sharpe"].value > 0:
        assert wf_meta["walk_forward_efficiency"].value == pytest.approx(
            wf_meta["out_of_sample_sharpe"].value / wf_meta["in_sample_sharpe"].value
        )
    tracker = MlflowTracker(settings.resolved_mlflow_uri())
    runs = tracker.client.search_runs(
        [tracker.client.get_experiment_by_name("lgbm_aapl").experiment_id],
        filter_string="tags.`tradeforge.report` != ''",
    )
    by_kind = {r.data.tags["tradeforge.report"]: r for r in runs}
    assert set(by_kind) == {"backtest", "walk_forward"}
    assert "bt_total_return" in by_kind["backtest"].data.metrics
    assert (
        "wf_sharpe_ratio" in by_kind["walk_forward"].data.metrics
        or "wf_total_return" in by_kind["walk_forward"].data.metrics
    )
    for kind, prefix in (("backtest", "bt_"), ("walk_forward", "wf_")):
        run = by_kind[kind]
        artifacts = {a.path for a in tracker.client.list_artifacts(run.info.run_id)}
        assert {"equity_curve.png", "honest_results.json"} <= artifacts
        assert {f"{prefix}psr_vs_zero", f"{prefix}benchmark_total_return"} <= set(run.data.metrics)
        assert run.data.tags["tradeforge.verdict"] == meta[f"{kind}_reports"]["verdict"].value
        assert (
            run.data.tags["tradeforge.significance"] == meta[f"{kind}_reports"]["significance_verdict"].value
        )
        blocks = tracker.client.download_artifacts(run.info.run_id, "honest_results.json", str(tmp_path))
        honest = json.loads(Path(blocks).read_text())
        assert honest["significance"]["psr_vs_zero"] == pytest.approx(
            run.data.metrics[f"{prefix}psr_vs_zero"]
        )
    wf_metrics = by_kind["walk_forward"].data.metrics
    for name in ("in_sample_sharpe", "out_of_sample_sharpe"):
        assert wf_metrics[f"wf_{name}"] == pytest.approx(wf_meta[name].value)
    assert by_kind["backtest"].data.metrics["bt_deflated_sharpe"] == pytest.approx(
        meta["backtest_reports"]["deflated_sharpe"].value
    )
    # the demo's summary of the latest reports shows them beside buy and hold, with their PSR
    (row,) = latest_reports(tracker, ["lgbm_aapl"])
    for kind, prefix in (("backtest", "bt_"), ("walk_forward", "wf_")):
        metrics = by_kind[kind].data.metrics
        assert row[f"{prefix}psr_vs_zero"] == pytest.approx(metrics[f"{prefix}psr_vs_zero"])
        assert row[f"{prefix}benchmark_excess_annual_return"] == pytest.approx(
            metrics[f"{prefix}benchmark_excess_annual_return"]
        )
    table = reports_table([row])
    assert [c.header for c in table.columns][4:6] == ["bt vs b&h", "bt P(SR>0)"]
    assert f"{row['bt_psr_vs_zero']:.2f}" in list(table.columns[5].cells)


def _automation_statuses(defs: dg.Definitions) -> dict[str, str]:
    repo = defs.get_repository_def()
    statuses = {s.name: s.default_status.value for s in repo.schedule_defs}
    statuses.update({s.name: s.default_status.value for s in repo.sensor_defs})
    return statuses


def test_automations_start_running_unless_turned_off(settings: Settings) -> None:
    names = {
        "daily_stock_ingest",
        "hourly_crypto_ingest",
        "nightly_retrain",
        "nightly_optimize",
        "daily_portfolio_snapshot",
        "retrain_on_data_growth",
        "default_automation_condition_sensor",
    }
    running = _automation_statuses(build_definitions(settings))
    assert running == dict.fromkeys(names, "RUNNING")
    automation = build_definitions(settings).resolve_sensor_def("default_automation_condition_sensor")
    assert isinstance(automation, dg.AutomationConditionSensorDefinition)
    stopped = _automation_statuses(
        build_definitions(settings.model_copy(update={"automations_running": False}))
    )
    assert stopped == dict.fromkeys(names, "STOPPED")


def test_jobs_run_on_celery_only_when_the_settings_say_so(settings: Settings) -> None:
    default = build_definitions(settings)
    assert default.resolve_job_def("ingest_market_data").executor_def.name == "multi_or_in_process_executor"
    celery = build_definitions(settings.model_copy(update={"dagster_executor": "celery"}))
    for name in ("ingest_market_data", "build_features", "train_models", "backtest_models"):
        assert celery.resolve_job_def(name).executor_def.name == "celery", name
    # Training (the `gpu` pool) goes to the GPU workers' queue; ingest to the default queue.
    trained = celery.resolve_assets_def("trained_models")
    assert trained.op.tags["dagster-celery/queue"] == "gpu"
    assert trained.op.pool == "gpu"
    assert "dagster-celery/queue" not in celery.resolve_assets_def("market_bars").op.tags
