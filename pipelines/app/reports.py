"""Reports on registered models, logged to MLflow beside the model they evaluate (its experiment),
so backtests and walk-forwards can be compared with the training runs in the MLflow UI.

A report reads its bars from the materialized feature table of its dataset, as training does,
never fetching, and records that table's data version on its run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipelines.app.backtest_plan import run_strategy_from, warmup_start
from pipelines.app.honest_results import benchmark_symbol_bars, log_honesty, walk_forward_honesty
from pipelines.backtest import BacktestConfig, BacktestResult, walk_forward
from pipelines.backtest.honest import HonestResults, honest_results
from pipelines.backtest.strategies.ml import RegistrySignals
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.data.timeutil import utc_now
from pipelines.features.store import read_feature_table
from pipelines.models.plots import equity_figure
from pipelines.models.registry import ModelRegistry
from pipelines.models.specs import ModelSpec
from pipelines.models.tracking import Tracker
from pipelines.settings import Settings

__all__ = ["Report", "backtest_report", "latest_reports", "walk_forward_report"]

_NUMERIC = (int, float)


@dataclass
class Report:
    model_name: str
    version: str
    run_id: str
    metrics: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    honest: dict[str, Any] = field(default_factory=dict)  # the benchmark and significance blocks


def _numeric(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    return {f"{prefix}{k}": float(v) for k, v in metrics.items() if isinstance(v, _NUMERIC) and v == v}


def _compared_honesty(
    settings: Settings,
    bars: pd.DataFrame,
    results: dict[str, BacktestResult],
    config: BacktestConfig,
    symbol: str,
    timeframe: str,
    source: str,
) -> HonestResults:
    """The model's blocks, its Sharpe ratio deflated by the strategies compared beside it (buy and
    hold is the benchmark, not a trial)."""
    model = results["model"]
    sharpes = [r.metrics["sharpe_ratio"] for label, r in results.items() if label != "buy_and_hold"]
    finite = [s for s in sharpes if s is not None]
    stamps = model.timestamps
    end = stamps[-1] + pd.Timedelta(seconds=1)
    others = benchmark_symbol_bars(settings, symbol, timeframe, stamps[0], end, source)
    return honest_results(
        bars,
        model.timestamps_ns,
        model.equity,
        config,
        symbol=symbol,
        others=others,
        trials=len(sharpes),
        trials_sharpe_variance=float(np.var(finite, ddof=1)) if len(finite) > 1 else None,
    )


def backtest_report(
    settings: Settings, tracker: Tracker, model_name: str, config: BacktestConfig | None = None
) -> Report:
    """The champion traded (``ml_predictive``) from its validation start to now, beside
    ``sma_cross`` and buy and hold on the same bars and costs; indicators warm on earlier bars."""
    registry = ModelRegistry(tracker, settings.models_cache_dir)
    loaded = registry.load(model_name)
    meta = loaded.meta
    start = pd.Timestamp(meta.data_range["val_start"])
    crypto = parse_symbol(meta.symbol).is_crypto
    table = read_feature_table(settings, source=meta.source, symbol=meta.symbol, timeframe=meta.timeframe)
    bars = table.bars(warmup_start(start, meta.timeframe, crypto=crypto), utc_now())
    config = config or BacktestConfig(timeframe=meta.timeframe, crypto=crypto)
    context = RegistrySignals(registry)
    runs: dict[str, tuple[str, dict[str, Any]]] = {
        "model": ("ml_predictive", {"model_name": model_name}),
        "sma_cross": ("sma_cross", {"fast": 10, "slow": 20}),
        "buy_and_hold": ("buy_and_hold", {}),
    }
    results = {
        label: run_strategy_from(bars, start, name, params, config, context)
        for label, (name, params) in runs.items()
    }
    rows = [
        {"label": label, "strategy": runs[label][0], "final_equity": r.final_equity, **r.metrics}
        for label, r in results.items()
    ]
    model = results["model"]
    first, last = model.timestamps[0], model.timestamps[-1]
    honest = _compared_honesty(settings, bars, results, config, meta.symbol, meta.timeframe, meta.source)
    tags = {
        "tradeforge.report": "backtest",
        "tradeforge.model_version": loaded.version,
        **table.version.tags(),
    }
    with tracker.run(model_name, f"backtest-v{loaded.version}", tags) as run:
        run.log_params(
            {
                "model_version": loaded.version,
                "symbol": meta.symbol,
                "timeframe": meta.timeframe,
                "start": first.isoformat(),
                "end": last.isoformat(),
                **{f"config_{k}": v for k, v in config.as_dict().items()},
            }
        )
        run.log_metrics(
            {
                **_numeric("bt_", results["model"].metrics),
                **_numeric("bt_sma_cross_", results["sma_cross"].metrics),
                **_numeric("bt_buy_and_hold_", results["buy_and_hold"].metrics),
            }
        )
        run.log_dict({"rows": rows}, "backtest_comparison.json")
        log_honesty(run, "bt_", honest.as_dict())
        curves = {label: r.equity_series() for label, r in results.items()}
        run.log_figure(
            equity_figure(curves, f"{model_name} v{loaded.version}: out of sample"), "equity_curve.png"
        )
    return Report(model_name, loaded.version, run.run_id, model.metrics, rows, honest.as_dict())


def walk_forward_report(settings: Settings, tracker: Tracker, spec: ModelSpec, years: int = 6) -> Report:
    """The spec's model kind retrained per fold over the last ``years`` (the bars before them warm the
    features): a trading year of training and a quarter of testing per fold, in bars of the spec's
    timeframe."""
    end = utc_now()
    begin = end - pd.Timedelta(days=365 * years)
    crypto = parse_symbol(spec.symbol).is_crypto
    table = read_feature_table(settings, source=spec.source, symbol=spec.symbol, timeframe=spec.timeframe)
    bars = table.bars(warmup_start(begin, spec.timeframe, crypto=crypto), end)
    config = BacktestConfig(timeframe=spec.timeframe, crypto=crypto)
    per_day = parse_timeframe(spec.timeframe).bars_per_year(crypto=crypto) / (365.0 if crypto else 252.0)
    train, test = max(60, round(252 * per_day)), max(20, round(63 * per_day))
    result = walk_forward(
        bars, spec.kind.value, spec.params, start=begin, train_window=train, test_window=test, config=config
    )
    payload = result.as_dict()
    honest = walk_forward_honesty(settings, bars, result, config, spec.symbol, spec.timeframe, spec.source)
    current = tracker.alias_version(spec.model_name, "champion")
    version = current.version if current else ""
    tags = {"tradeforge.report": "walk_forward", "tradeforge.model_version": version, **table.version.tags()}
    with tracker.run(spec.model_name, f"walk-forward-{spec.kind.value}", tags) as run:
        run.log_params(
            {
                "model_type": spec.kind.value,
                "symbol": spec.symbol,
                "timeframe": spec.timeframe,
                "train_window": train,
                "test_window": test,
                "folds": len(result.folds),
                **spec.params,
            }
        )
        run.log_metrics(_numeric("wf_", result.metrics))
        run.log_dict({"folds": payload["folds"]}, "walk_forward_folds.json")
        log_honesty(run, "wf_", honest.as_dict())
        curve = pd.Series(result.equity, index=pd.to_datetime(result.timestamps_ns, utc=True))
        curves = {"out of sample": curve, "buy and hold": honest.benchmark_result.equity_series()}
        run.log_figure(equity_figure(curves, f"{spec.model_name}: walk-forward"), "equity_curve.png")
    return Report(spec.model_name, version, run.run_id, result.metrics, payload["folds"], honest.as_dict())


# What the summary of a report run shows: its result, against buy and hold, and how far to trust it.
_REPORT_HEADLINE = (
    "total_return",
    "sharpe_ratio",
    "max_drawdown",
    "benchmark_excess_annual_return",
    "psr_vs_zero",
)


def latest_reports(tracker: Tracker, model_names: list[str]) -> list[dict[str, Any]]:
    """Per model: headline metrics of its latest backtest and walk-forward report runs, with the
    excess annual return over buy and hold and the probabilistic Sharpe ratio against 0."""
    client = getattr(tracker, "client", None)
    if client is None:
        return []
    out = []
    for name in model_names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            continue
        row: dict[str, Any] = {"model_name": name}
        for kind, prefix in (("backtest", "bt_"), ("walk_forward", "wf_")):
            runs = client.search_runs(
                [experiment.experiment_id],
                filter_string=f"tags.`tradeforge.report` = '{kind}'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
            if runs:
                m = runs[0].data.metrics
                row |= {f"{prefix}{k}": m.get(f"{prefix}{k}") for k in _REPORT_HEADLINE}
        out.append(row)
    return out
