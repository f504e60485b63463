"""Assets ``backtest_reports`` and ``walk_forward_reports``: one per model spec, logged to MLflow
beside the model (``pipelines.app.reports``)."""

from typing import Any

import dagster as dg

from assets.resources import TrackerResource, TradeforgeResource
from pipelines.app.reports import backtest_report, walk_forward_report
from pipelines.models.specs import ModelSpec

HEADLINE = ("total_return", "sharpe_ratio", "max_drawdown", "num_trades", "win_rate")


TRUST = (
    "psr_vs_zero",
    "psr_vs_benchmark",
    "min_track_record_years",
    "deflated_sharpe",
    "walk_forward_efficiency",
    "in_sample_sharpe",
    "out_of_sample_sharpe",
)


def _headline(metrics: dict[str, object]) -> dict[str, float]:
    return {k: float(v) for k in HEADLINE if isinstance((v := metrics.get(k)), int | float)}


def _trust(honest: dict[str, Any]) -> dict[str, Any]:
    """The verdict against buy and hold and the significance headline of a report."""
    bench, sig = honest["benchmark"], honest["significance"]
    out: dict[str, Any] = {
        "verdict": bench["verdict"],
        "significant": bool(sig["significant"]),
        "significance_verdict": str(sig["verdict"]),
    }
    if isinstance(bench.get("excess_annual_return"), int | float):
        out["excess_annual_return"] = float(bench["excess_annual_return"])
    out |= {k: float(v) for k in TRUST if isinstance((v := sig.get(k)), int | float)}
    return out


def build_report_assets(
    specs: list[ModelSpec], trained_models: dg.AssetsDefinition
) -> list[dg.AssetsDefinition]:
    by_key = {s.key: s for s in specs}
    partitions = trained_models.partitions_def

    @dg.asset(
        partitions_def=partitions,
        group_name="backtests",
        kinds={"mlflow", "numba"},
        deps=[trained_models],
        description="The champion traded over its validation window to now (fills at the next open, "
        "0.1% commission), beside sma_cross and buy and hold; metrics, significance (deflated by the two "
        "strategies), the verdict against buy and hold and an equity-curve PNG in MLflow.",
    )
    def backtest_reports(
        context: dg.AssetExecutionContext, tradeforge: TradeforgeResource, tracker: TrackerResource
    ) -> dg.MaterializeResult[None]:
        spec = by_key[context.partition_key]
        report = backtest_report(tradeforge.settings, tracker.open(), spec.model_name)
        return dg.MaterializeResult(
            metadata={
                "model_version": report.version,
                "mlflow_run_id": report.run_id,
                **_headline(report.metrics),
                "comparison": {r["label"]: r.get("total_return") for r in report.rows},
                **_trust(report.honest),
            }
        )

    @dg.asset(
        partitions_def=partitions,
        group_name="backtests",
        kinds={"mlflow", "lightgbm"},
        deps=[trained_models],
        description="The spec's model kind retrained per fold (train 252 / test 63 bars) over six years; "
        "per-fold and stitched out-of-sample metrics, significance, walk-forward efficiency, the verdict "
        "against buy and hold and the equity curve beside it in MLflow.",
    )
    def walk_forward_reports(
        context: dg.AssetExecutionContext, tradeforge: TradeforgeResource, tracker: TrackerResource
    ) -> dg.MaterializeResult[None]:
        spec = by_key[context.partition_key]
        report = walk_forward_report(tradeforge.settings, tracker.open(), spec)
        return dg.MaterializeResult(
            metadata={
                "folds": len(report.rows),
                "mlflow_run_id": report.run_id,
                **_headline(report.metrics),
                **_trust(report.honest),
            }
        )

    return [backtest_reports, walk_forward_reports]
