"""The sweep use case (``/api/v1/backtest/sweep``; the ``sweep`` job kind): one strategy over a grid of
its parameters on the same bars, with the planner and engine of ``tradeforge sweep``, answered with the
best ``top`` combinations, the best one's metrics, its benchmark and significance blocks and the "how
much to trust this" lines, and logged as an MLflow run
(every combination as a CSV artifact, a heat map of the objective over two swept parameters)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.app.backtest import AnalysisAnswer, TradingTerms, source_for
from pipelines.app.job_params import bars_ram, checked, only_known, text_param, with_span
from pipelines.app.sweep_plan import SweepRequest, plan_sweep, sweep_run
from pipelines.app.sweep_report import log_sweep
from pipelines.backtest.honest import trust_lines
from pipelines.datasets.files import stored_bars
from pipelines.errors import InvalidRequestError
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.models.tracking import Tracker, open_tracker
from pipelines.settings import Settings

__all__ = ["MAX_TOP", "SweepQuery", "api_sweep", "run_sweep_query", "sweep_task"]

log = logging.getLogger(__name__)
MAX_TOP = 1_000  # combinations an answer lists at most; the MLflow run's CSV holds the rest

Progress = Callable[[float, str], None]


@dataclass(frozen=True, kw_only=True)
class SweepQuery(TradingTerms):
    """A sweep of ``strategy`` over ``grid`` (parameter -> values: a list, ``start:stop:step`` or
    ``v1,v2``), ``params`` held fixed; ``top``: combinations answered; ``heatmap``: the two swept
    parameters of the logged heat map (default the first two); ``dataset_id``: the bars of an
    uploaded ``ohlcv`` dataset (the caller checked its owner)."""

    symbol: str
    strategy: str
    grid: Mapping[str, Any]
    params: Mapping[str, Any] | None = None
    constraints: Sequence[str] = ()
    objective: str = "sharpe_ratio"
    sample: int | None = None
    seed: int | None = None
    top: int = 20
    heatmap: Sequence[str] | None = None
    start_date: Any = None
    end_date: Any = None
    timeframe: str = "1d"
    source: str | None = None
    dataset_id: str | None = None


def _heatmap(query: SweepQuery, request: SweepRequest) -> tuple[str, str] | None:
    """The heat map's (x, y): the query's, checked against the swept parameters, else the first two;
    None when fewer than two parameters are swept."""
    swept = list(request.grid)
    if query.heatmap is None:
        return (swept[0], swept[1]) if len(swept) >= 2 else None
    names = list(query.heatmap)
    if len(names) != 2 or names[0] == names[1]:
        raise InvalidRequestError("heatmap names two different swept parameters: [x, y]")
    missing = [n for n in names if n not in swept]
    if missing:
        raise InvalidRequestError(
            f"heatmap parameter(s) {', '.join(map(repr, missing))} are not swept; swept: {', '.join(swept)}"
        )
    return names[0], names[1]


def _plan(settings: Settings, query: SweepQuery, source: str | None, path: Any) -> SweepRequest:
    """Every check before a bar is read (``plan_sweep``), the answer's size and the heat map's names."""
    if isinstance(query.top, bool) or not isinstance(query.top, int) or not 1 <= query.top <= MAX_TOP:
        raise InvalidRequestError(f"top must be a whole number from 1 to {MAX_TOP:,}, got {query.top!r}")
    if not isinstance(query.grid, Mapping) or not query.grid:
        raise InvalidRequestError("grid names at least one parameter and its values")
    request = plan_sweep(
        settings,
        grid=query.grid,
        constraints=list(query.constraints),
        objective=query.objective,
        sample=query.sample,
        seed=query.seed,
        strategy=query.strategy,
        params=dict(query.params or {}),
        symbol=query.symbol,
        source=source or source_for(settings, query.symbol, query.timeframe),
        timeframe=query.timeframe,
        start=query.start_date,
        end=query.end_date,
        path=path,
        **query.given(),
    )
    _heatmap(query, request)
    return request


def run_sweep_query(
    settings: Settings, tracker: Tracker, query: SweepQuery, *, progress: Progress | None = None
) -> AnalysisAnswer:
    """Plan, run and log the sweep; ``progress(percent, description)`` hears of its batches."""
    with stored_bars(settings, query.dataset_id, query.source) as (source, path):
        request = _plan(settings, query, source, path)
        run = sweep_run(settings, request, progress)
    bt, result = request.backtest, run.result
    heatmap = _heatmap(query, request)
    run_id = log_sweep(
        tracker, result, symbol=bt.symbol, timeframe=bt.timeframe, version=run.data_version, heatmap=heatmap
    )
    body = result.as_dict(query.top)
    trust = trust_lines(body) if "benchmark" in body else []
    answer = AnalysisAnswer(
        {
            "symbol": bt.symbol,
            "timeframe": bt.timeframe,
            "period": {"start": bt.start.date().isoformat(), "end": bt.end.date().isoformat()},
            **body,
            "results_total": len(result.grid),
            "results_truncated": len(body["results"]) < len(result.grid),
            "heatmap": None if heatmap is None else {"x": heatmap[0], "y": heatmap[1], "aggregate": "mean"},
            "trust": [{"label": label, "text": text} for label, text in trust],
            "mlflow_run_id": run_id,
            "status": "success",
        },
        run.data_version,
    )
    log.info(
        "sweep of %s (%d combinations) on %s read %s",
        bt.strategy,
        len(result.grid),
        bt.symbol,
        answer.version_note(),
    )
    return answer


def api_sweep(settings: Settings, tracker: Tracker, **fields: Any) -> dict[str, Any]:
    """:func:`run_sweep_query` of the :class:`SweepQuery` ``fields`` name (the JSON body or the job's
    parameters), answered as its body."""
    return run_sweep_query(settings, tracker, SweepQuery(**fields)).body


# -- the ``sweep`` job kind: the parameters are ``api_sweep``'s keywords ------------------------------
def _validate_sweep(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    only_known(params, SweepQuery, skip=())
    text_param(params, "symbol")
    text_param(params, "strategy")
    if "grid" not in params:
        raise InvalidRequestError("a sweep needs grid: each swept parameter and its values")
    query = checked(lambda: SweepQuery(**params))
    with stored_bars(settings, query.dataset_id, query.source) as (source, path):
        request = checked(lambda: _plan(settings, query, source, path))
    return params if params.get("dataset_id") else with_span(params, request.backtest)


@register_task(
    "sweep",
    cpu_cores=1.0,
    ram_gb=1.0,
    estimate_ram=bars_ram(1.0, 2.0),
    validate=_validate_sweep,
    describe=lambda p: f"Sweeping {p.get('strategy')} on {p.get('symbol')}...",
)
def sweep_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """The answer of ``/api/v1/backtest/sweep``; the job's last description names the data version read."""
    label = f"Sweep of {params['strategy']} on {params['symbol']}"
    progress.update(5.0, f"{label}: loading data...")
    answer = run_sweep_query(
        progress.settings,
        open_tracker(progress.settings),
        SweepQuery(**params),
        progress=lambda pct, text: progress.update(5.0 + 0.9 * pct, f"{label}: {text}"),
    )
    progress.update(95.0, f"{label} finished on {answer.version_note()}")
    return answer.body
