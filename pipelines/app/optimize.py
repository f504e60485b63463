"""The strategy optimization use case (``tradeforge optimize``, ``/api/v1/backtest/optimize``, the
``optimize`` job kind and the nightly ``strategy_optimizations`` asset): an Optuna search of a
strategy's parameters before a held-out tail, on bars read like a backtest's, logged as one MLflow
run (parameters, in- and out-of-sample metrics, deflated Sharpe ratio, PBO, the trials and a heat
map of the objective over two parameters)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipelines.app.backtest import AnalysisAnswer, source_for, trading_fields
from pipelines.app.honest_results import backtest_honesty, honest_metrics
from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.app.job_params import bars_ram, checked, only_known, text_param, with_span
from pipelines.app.optimize_plan import (
    SYNC_MAX_TRIALS,
    OptimizePlan,
    OptimizeQuery,
    check_budget,
    plan_optimize,
)
from pipelines.backtest.honest import trust_lines
from pipelines.backtest.optimize import OptimizationResult, optimize_strategy
from pipelines.backtest.runner import run_strategy, run_strategy_from
from pipelines.data.version import DataVersion
from pipelines.datasets.files import stored_bars
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.models.plots import heatmap_figure
from pipelines.models.tracking import Tracker, open_tracker
from pipelines.settings import Settings

__all__ = [
    "SYNC_MAX_TRIALS",
    "OptimizeQuery",
    "api_optimize",
    "objective_grid",
    "optimize_task",
    "run_optimize_query",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def _bars(settings: Settings, plan: OptimizePlan) -> tuple[pd.DataFrame, DataVersion]:
    request = plan.request
    table = ensure_bars_table(
        settings,
        DataRequest(
            request.source, request.symbol, request.timeframe, request.start, request.end, request.path
        ),
    )
    bars = table.bars()
    check_budget(settings, len(bars), plan.trials, plan.budget)
    return bars, table.version


def run_optimize_query(
    settings: Settings,
    query: OptimizeQuery,
    *,
    tracker: Tracker | None = None,
    progress: Progress | None = None,
    waiting: bool = False,
) -> AnalysisAnswer:
    """Plan, read the bars, search, trade the best on the held-out tail, log the MLflow run
    (``tracker``: the home's by default); ``progress(done, total)`` hears of each trial; ``waiting``:
    the caller waits for the answer, so the search must be small (``SYNC_MAX_TRIALS``)."""
    with stored_bars(settings, query.dataset_id, query.source) as (source, path):
        source = source or source_for(settings, query.symbol, query.timeframe)
        plan = plan_optimize(settings, query, source, path or query.path, waiting=waiting)
        bars, version = _bars(settings, plan)
    request = plan.request
    result = optimize_strategy(
        bars,
        request.strategy,
        request.config,
        plan.space,
        constraints=plan.constraints,
        fixed=plan.fixed,
        objective=plan.objective,
        trials=plan.trials,
        holdout=plan.holdout,
        seed=plan.seed,
        prune=plan.prune,
        storage=plan.storage,
        study_name=plan.study_name,
        progress=progress,
    )
    body = {
        "symbol": request.symbol,
        "timeframe": request.timeframe,
        "source": request.source,
        "period": {"start": request.start.date().isoformat(), "end": request.end.date().isoformat()},
        "fixed": plan.fixed,
        "config": request.config.as_dict(),
        **result.as_dict(),
        **_honesty(settings, bars, plan, result),
        "heatmap": list(plan.heatmap) if plan.heatmap else None,
    }
    body["mlflow_run_id"] = log_optimization(tracker or open_tracker(settings), plan, result, body, version)
    body["status"] = "success"
    answer = AnalysisAnswer(body, version)
    log.info("optimization of %s on %s read %s", request.strategy, request.symbol, answer.version_note())
    return answer


def _honesty(
    settings: Settings, bars: pd.DataFrame, plan: OptimizePlan, result: OptimizationResult
) -> dict[str, Any]:
    """The best parameters against buy and hold: in sample (the search window, beside the Sharpe
    ratio deflated by the trials: the ``benchmark_in_sample`` block) and on the held-out tail (the
    ``benchmark`` block); the ``significance`` block with both Sharpe ratios; the "how much to trust
    this" lines."""
    request, params = plan.request, {**plan.fixed, **result.best_params}
    cut = result.split["search_bars"]
    search = run_strategy(bars.iloc[:cut].reset_index(drop=True), request.strategy, params, request.config)
    holdout_start = pd.Timestamp(result.split["holdout_start"])
    tail = run_strategy_from(bars, holdout_start, request.strategy, params, request.config)
    place = (request.symbol, request.timeframe, request.source)
    inside = backtest_honesty(settings, bars.iloc[:cut].reset_index(drop=True), search, *place)
    outside = backtest_honesty(settings, bars, tail, *place)
    significance = dict(result.significance)
    for key in ("benchmark_sharpe", "psr_vs_benchmark"):
        if significance.get(key) is None:
            significance[key] = inside.significance.get(key)
    significance["in_sample_sharpe"] = result.in_sample.get("sharpe_ratio")
    significance["out_of_sample_sharpe"] = result.out_of_sample.get("sharpe_ratio")
    lines = trust_lines({"benchmark": inside.benchmark, "significance": significance})
    lines[0] = ("in sample", lines[0][1])
    oos = result.out_of_sample.get("sharpe_ratio")
    shown = "-" if oos is None else f"{oos:.2f}"
    held = f"Sharpe {shown} over the {result.split['holdout_bars']} held-out bars; "
    lines.insert(1, ("out of sample", held + outside.benchmark["verdict"]))
    return {
        "benchmark": outside.benchmark,
        "benchmark_in_sample": inside.benchmark,
        "significance": significance,
        "trust": [{"label": label, "text": text} for label, text in lines],
    }


def api_optimize(settings: Settings, *, waiting: bool = False, **fields: Any) -> dict[str, Any]:
    """:func:`run_optimize_query` of the :class:`OptimizeQuery` ``fields`` name (the JSON body or the
    job's parameters), answered as its body."""
    return run_optimize_query(settings, OptimizeQuery(**fields), waiting=waiting).body


def objective_grid(
    trials: Sequence[Mapping[str, Any]], x: str, y: str
) -> tuple[list[Any], list[Any], np.ndarray[Any, np.dtype[np.float64]]]:
    """The best objective value of the completed ``trials`` per (``x``, ``y``) pair: the sorted
    values of each, and a (len(y), len(x)) matrix with NaN where no trial tried the pair."""
    done = [t for t in trials if t.get("state") == "complete" and t.get("value") is not None]
    xs = sorted({t["params"][x] for t in done if x in t["params"]})
    ys = sorted({t["params"][y] for t in done if y in t["params"]})
    grid = np.full((len(ys), len(xs)), np.nan)
    col, row = {v: i for i, v in enumerate(xs)}, {v: i for i, v in enumerate(ys)}
    for t in done:
        if x in t["params"] and y in t["params"]:
            i, j = row[t["params"][y]], col[t["params"][x]]
            value = float(t["value"])
            grid[i, j] = value if math.isnan(grid[i, j]) else max(grid[i, j], value)
    return xs, ys, grid


def _numeric(prefix: str, metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        f"{prefix}{k}": float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def _log_honesty(run: Any, body: Mapping[str, Any]) -> None:
    """The best against buy and hold in sample (``is_benchmark_*``) and out of sample
    (``oos_benchmark_*``), the significance block's numbers, the three blocks as the
    ``honest_results.json`` artifact and their verdicts as tags."""
    inside, outside, significance = body["benchmark_in_sample"], body["benchmark"], body["significance"]
    run.log_metrics(
        {
            **honest_metrics("is_", {"benchmark": inside, "significance": {}}),
            **honest_metrics("oos_", {"benchmark": outside, "significance": {}}),
            **honest_metrics("", {"benchmark": {}, "significance": significance}),
        }
    )
    run.log_dict(
        {"benchmark": outside, "benchmark_in_sample": inside, "significance": significance},
        "honest_results.json",
    )
    run.set_tags(
        {
            "tradeforge.verdict": outside["verdict"],
            "tradeforge.verdict_in_sample": inside["verdict"],
            "tradeforge.significance": significance.get("verdict") or "",
        }
    )


def log_optimization(
    tracker: Tracker,
    plan: OptimizePlan,
    result: OptimizationResult,
    body: Mapping[str, Any],
    version: DataVersion,
) -> str:
    """One run in the ``optimize-<strategy>`` experiment; returns its id."""
    request = plan.request
    significance = result.significance
    overfitting = significance.get("overfitting") or {}
    tags = {"tradeforge.report": "optimize", "tradeforge.symbol": request.symbol, **version.tags()}
    name = result.study_name or f"{request.symbol}-{request.timeframe}"
    with tracker.run(f"optimize-{request.strategy}", name, tags) as run:
        run.log_params(
            {
                "strategy": request.strategy,
                "symbol": request.symbol,
                "timeframe": request.timeframe,
                "source": request.source,
                "objective": plan.objective,
                "trials": plan.trials,
                "holdout": plan.holdout,
                "seed": plan.seed,
                "prune": plan.prune,
                "study_name": result.study_name or "",
                "space": {n: d.describe() for n, d in plan.space.items()},
                "constraints": [c.text for c in plan.constraints],
                **{f"fixed_{k}": v for k, v in plan.fixed.items()},
                **{f"best_{k}": v for k, v in result.best_params.items()},
            }
        )
        run.log_metrics(
            {
                "best_value": result.best_value,
                **_numeric("is_", result.in_sample),
                **_numeric("oos_", result.out_of_sample),
                **_numeric("", {"pbo": overfitting.get("pbo")}),
                **_numeric("", {k: body[k] for k in body if k.startswith("trials_")}),
            }
        )
        _log_honesty(run, body)
        run.log_dict({"trials": result.trials}, "trials.json")
        run.log_dict({k: v for k, v in body.items() if k != "trials"}, "optimization.json")
        if plan.heatmap is not None:
            x, y = plan.heatmap
            xs, ys, grid = objective_grid(result.trials, x, y)
            if xs and ys:
                title = f"{request.strategy} on {request.symbol}: {plan.objective} (in sample)"
                figure = heatmap_figure(xs, ys, grid, title, x_label=x, y_label=y, value_label=plan.objective)
                run.log_figure(figure, "objective_heatmap.png")
    return run.run_id


# -- the ``optimize`` job kind: the parameters are ``api_optimize``'s keywords ------------------------
def _validate_optimize(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    only_known(params, OptimizeQuery, skip=("path",))
    symbol = str(text_param(params, "symbol"))
    text_param(params, "strategy")
    with stored_bars(settings, params.get("dataset_id"), params.get("source")) as (source, path):
        plan = checked(
            lambda: plan_optimize(
                settings,
                OptimizeQuery(**{**params, **trading_fields(params)}),
                source or source_for(settings, symbol, str(params.get("timeframe") or "1d")),
                path,
            )
        )
    return params if params.get("dataset_id") else with_span(params, plan.request)


@register_task(
    "optimize",
    cpu_cores=1.0,
    ram_gb=0.5,
    estimate_ram=bars_ram(0.5, 2.0),
    validate=_validate_optimize,
    describe=lambda p: f"Optimizing {p.get('strategy')} on {p.get('symbol')}...",
)
def optimize_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """The answer of ``/api/v1/backtest/optimize``; progress reports each trial."""
    label = f"Optimizing {params['strategy']} on {params['symbol']}"
    progress.update(2.0, f"{label}: loading data...")

    def trial(done: int, total: int) -> None:
        progress.update(
            2.0 + 93.0 * done / total, f"{label}: trial {done}/{total}", {"trial": done, "trials": total}
        )

    answer = run_optimize_query(progress.settings, OptimizeQuery(**params), progress=trial)
    progress.update(97.0, f"{label} finished on {answer.version_note()}")
    return answer.body
