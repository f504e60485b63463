"""The sweep command: one strategy over a grid of its parameters, ranked by an objective."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from pipelines.cli.backtest import StopLossOpt, TakeProfitOpt, print_trust
from pipelines.cli.progress import stage_progress
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings, get_settings

if TYPE_CHECKING:
    from pipelines.app.backtest_plan import BacktestRequest
    from pipelines.app.sweep_plan import SweepRequest
    from pipelines.backtest.sweep import SweepResult

# (metric, header): short headers, so the table fits an 80-column terminal.
COLUMNS = (
    ("sharpe_ratio", "sharpe"),
    ("total_return", "return"),
    ("max_drawdown", "max dd"),
    ("calmar_ratio", "calmar"),
    ("num_trades", "trades"),
    ("win_rate", "win rate"),
)


def parse_params(options: list[str]) -> dict[str, str]:
    """``["fast=5:100:1", "slow=10,20"]`` as {name: values spec}; each name once."""
    grid: dict[str, str] = {}
    for option in options:
        name, sep, spec = option.partition("=")
        name = name.strip()
        if not sep or not name or not spec.strip():
            raise InvalidRequestError(
                f"--param {option!r} must be NAME=START:STOP:STEP or NAME=V1,V2,... "
                "(for example fast=5:100:1)"
            )
        if name in grid:
            raise InvalidRequestError(f"--param {name!r} is given twice")
        grid[name] = spec.strip()
    if not grid:
        raise InvalidRequestError("give at least one --param NAME=START:STOP:STEP to sweep")
    return grid


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _table(result: SweepResult, top: int) -> Table:
    table = Table(title=f"top {min(top, len(result.order))} of {len(result.grid):,} by {result.objective}")
    table.add_column("#", justify="right")
    for name in result.grid.names:
        table.add_column(name, justify="right")
    for _, header in COLUMNS:
        table.add_column(header, justify="right")
    for row in result.top(top):
        cells = [str(row["rank"]), *(format(row["params"][n], "g") for n in result.grid.names)]
        table.add_row(*cells, *(_cell(row["metrics"][n]) for n, _ in COLUMNS))
    return table


def _report(result: SweepResult, request: BacktestRequest, top: int, *, as_json: bool) -> None:
    if as_json:
        emit_json({"symbol": request.symbol, "timeframe": request.timeframe, **result.as_dict(top)})
        return
    out.print(
        f"[bold]sweep[/] {result.grid.strategy} on {request.symbol}: {len(result.grid):,} combinations "
        f"(grid {result.grid.grid_size:,}, {result.grid.feasible:,} within constraints) "
        f"in {result.seconds:.2f} s"
    )
    out.print(_table(result, top))
    sig = result.significance
    pbo = sig["overfitting"]["pbo"] if sig.get("overfitting") else None
    out.print(
        escape(
            f"  deflated Sharpe of the best: {_cell(sig['deflated_sharpe'])} over {sig['trials']:,} trials "
            f"(Sharpe variance {_cell(sig['trials_sharpe_variance'])}); PBO {_cell(pbo)}"
        ),
        highlight=False,
    )
    if result.benchmark is not None:
        print_trust({"benchmark": result.benchmark, "significance": sig})


def _run(sweep_run: Any, settings: Settings, request: SweepRequest, *, show: bool) -> SweepResult:
    """``sweep_run`` with its progress on stderr (a bar on a terminal) when ``show``."""
    bt = request.backtest
    with stage_progress(show, f"sweep {bt.strategy} on {bt.symbol} {bt.timeframe}") as update:
        result: SweepResult = sweep_run(settings, request, update).result
    return result


@app.command()
def sweep(
    strategy: Annotated[str, typer.Option(help="sma_cross | rsi_reversion | bollinger_breakout | ...")],
    symbol: Annotated[str, typer.Option(help="AAPL, BTC/USDT, ...")],
    param: Annotated[
        list[str], typer.Option("--param", help="NAME=START:STOP:STEP (ends included) or NAME=V1,V2; repeat")
    ],
    constraint: Annotated[
        list[str] | None, typer.Option("--constraint", help="'a OP b' with OP in < <= > >= == != ; repeat")
    ] = None,
    objective: Annotated[str, typer.Option(help="sharpe | sortino | calmar | total_return | ...")] = "sharpe",
    top: Annotated[int, typer.Option(help="Combinations shown", min=1)] = 10,
    sample: Annotated[int | None, typer.Option(help="Run a random sample of this many combinations")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of --sample")] = None,
    params: Annotated[str | None, typer.Option(help="Parameters held fixed, as JSON")] = None,
    source: DefaultSourceOpt = None,
    path: Annotated[Path | None, typer.Option(help="CSV or Parquet file for --source file")] = None,
    timeframe: TimeframeOpt = "1d",
    start: Annotated[str | None, typer.Option(help="First day")] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive end")] = None,
    initial_capital: Annotated[float, typer.Option(help="Starting equity")] = 10_000.0,
    commission: Annotated[float, typer.Option(help="Fraction of traded notional per fill")] = 0.001,
    slippage: Annotated[float, typer.Option(help="Fraction of price against the trader")] = 0.0,
    position_size: Annotated[float, typer.Option(help="Fraction of equity committed")] = 1.0,
    allow_short: Annotated[bool, typer.Option("--allow-short", help="Go short instead of flat")] = False,
    stop_loss: StopLossOpt = None,
    take_profit: TakeProfitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest a strategy over a grid of its parameters, ranked, with deflated Sharpe and PBO."""
    # Imported on use, for the CLI's start-up time: pandas, numba.
    from pipelines.app.sweep_plan import plan_sweep, sweep_run

    settings = get_settings()
    with errors():
        request = plan_sweep(
            settings,
            grid=parse_params(param),
            constraints=constraint or [],
            objective=objective,
            sample=sample,
            seed=seed,
            strategy=strategy,
            symbol=symbol,
            params=json_object(params, "--params"),
            source=source_or_default(settings, source, symbol, timeframe),
            timeframe=timeframe,
            start=start,
            end=end,
            path=path,
            initial_capital=initial_capital,
            commission=commission,
            slippage=slippage,
            position_size=position_size,
            allow_short=allow_short,
            stop_loss=stop_loss,
            take_profit=take_profit,
        )
        result = _run(sweep_run, settings, request, show=not as_json)
    _report(result, request.backtest, top, as_json=as_json)
