"""``tradeforge optimize``: an Optuna search of a strategy's parameters before a held-out tail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from pipelines.cli._common import (
    DefaultSourceOpt,
    JsonOpt,
    TimeframeOpt,
    app,
    emit_json,
    errors,
    json_object,
    out,
    source_or_default,
)
from pipelines.cli.progress import stage_progress
from pipelines.cli.tables import safe_cell
from pipelines.errors import InvalidRequestError
from pipelines.settings import get_settings

__all__ = ["optimize"]

# The rows of the in-sample vs out-of-sample table.
_COMPARED = ("total_return", "annual_return", "sharpe_ratio", "sortino_ratio", "max_drawdown", "num_trades")


def _ranges(values: list[str]) -> dict[str, str]:
    """``--param name=range`` flags as {name: range text}."""
    ranges: dict[str, str] = {}
    for text in values:
        name, sep, spec = text.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise InvalidRequestError(f"--param takes name=low:high[:step] or name=a,b,c, got {text!r}")
        if name.strip() in ranges:
            raise InvalidRequestError(f"--param {name.strip()} is given twice")
        ranges[name.strip()] = spec.strip()
    return ranges


def _fixed(params: str | None, fixed: str | None) -> dict[str, Any]:
    """``--params`` (or its older name ``--fixed``, not both) as a JSON object."""
    if params and fixed:
        raise InvalidRequestError("give --params or its older name --fixed, not both")
    return json_object(params, "--params") if params else json_object(fixed, "--fixed")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _report(body: dict[str, Any]) -> None:
    """The best parameters, the in-sample vs out-of-sample table and the trust lines."""
    split = body["split"]
    best = ", ".join(f"{k}={v}" for k, v in body["best_params"].items())
    out.print(
        f"[bold]{body['strategy']}[/] on {body['symbol']} {body['timeframe']}: best {escape(best)} "
        f"({body['objective']} {body['best_value']:.4f}) after {body['trials_complete']} complete, "
        f"{body['trials_pruned']} pruned, {body['trials_skipped']} skipped, "
        f"{body['trials_failed']} failed trials",
        highlight=False,
    )
    table = Table(title="in sample vs out of sample")
    table.add_column("metric")
    table.add_column(f"in sample ({split['search_bars']} bars)", justify="right")
    table.add_column(f"out of sample ({split['holdout_bars']} bars)", justify="right")
    for key in _COMPARED:
        table.add_row(key, _cell(body["in_sample"].get(key)), _cell(body["out_of_sample"].get(key)))
    out.print(table)
    out.print("  [bold]how much to trust this[/]")
    for line in body["trust"]:
        out.print(f"  {line['label']:<16}{escape(line['text'])}", highlight=False, soft_wrap=True)
    if body.get("study_name"):
        out.print(f"  study {safe_cell(body['study_name'])}: {body['trials_total']} trials in all")
    out.print(f"  MLflow run {body['mlflow_run_id']}", highlight=False)


ParamOpt = Annotated[
    list[str], typer.Option(help="A searched parameter: name=low:high[:step] or name=a,b,c (repeat the flag)")
]
ConstraintOpt = Annotated[
    list[str] | None, typer.Option(help='A rule between parameters, e.g. "fast<slow" (repeatable)')
]
ObjectiveOpt = Annotated[
    str, typer.Option(help="sharpe | sortino | calmar | total_return | annual_return | ...")
]
HeatmapOpt = Annotated[
    str | None, typer.Option(help="Two searched parameters the logged heat map shows: x,y")
]
StrategyOpt = Annotated[str, typer.Option(help="sma_cross | rsi_reversion | bollinger_breakout | ...")]


@app.command()
def optimize(
    strategy: StrategyOpt,
    symbol: Annotated[str, typer.Option(help="AAPL, BTC/USDT, ...")],
    param: ParamOpt,
    constraint: ConstraintOpt = None,
    params: Annotated[str | None, typer.Option(help="Parameters held fixed, as JSON")] = None,
    fixed: Annotated[str | None, typer.Option(hidden=True, help="The older name of --params")] = None,
    objective: ObjectiveOpt = "sharpe",
    trials: Annotated[int, typer.Option(help="Trials to run (a resumed study runs this many more)")] = 100,
    holdout: Annotated[float, typer.Option(help="Fraction of the bars held out of the search")] = 0.2,
    study: Annotated[
        str | None, typer.Option(help="Keep the study under this name (resumed if kept)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler")] = 42,
    prune: Annotated[bool, typer.Option("--prune/--no-prune", help="Stop hopeless trials half way")] = True,
    heatmap: HeatmapOpt = None,
    source: DefaultSourceOpt = None,
    path: Annotated[Path | None, typer.Option(help="CSV or Parquet file for --source file")] = None,
    timeframe: TimeframeOpt = "1d",
    start: Annotated[str | None, typer.Option(help="First day")] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive end")] = None,
    commission: Annotated[float, typer.Option(help="Fraction of traded notional per fill")] = 0.001,
    slippage: Annotated[float, typer.Option(help="Fraction of price against the trader")] = 0.0,
    allow_short: Annotated[bool, typer.Option("--allow-short", help="Go short instead of flat")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Search a strategy's parameters (Optuna TPE) before a held-out tail, then trade the best on it;
    the run is logged to MLflow with the trials and a heat map of the objective."""
    # Imported on use, for the CLI's start-up time: pandas, numba, optuna, MLflow.
    from pipelines.app.optimize import OptimizeQuery, run_optimize_query

    settings = get_settings()
    with errors():
        query = OptimizeQuery(
            strategy=strategy,
            symbol=symbol,
            grid=_ranges(param),
            constraints=list(constraint or []),
            params=_fixed(params, fixed),
            objective=objective,
            trials=trials,
            holdout=holdout,
            seed=seed,
            prune=prune,
            study_name=study,
            heatmap=None if heatmap is None else [p.strip() for p in heatmap.split(",")],
            start_date=start,
            end_date=end,
            timeframe=timeframe,
            source=source_or_default(settings, source, symbol, timeframe),
            path=path,
            commission=commission,
            slippage=slippage,
            allow_short=allow_short,
        )
        with stage_progress(not as_json, f"optimize {strategy} on {symbol}", total=trials) as update:
            answer = run_optimize_query(
                settings, query, progress=lambda n, total: update(n, f"trial {n}/{total}")
            )
    (emit_json if as_json else _report)(answer.body)
