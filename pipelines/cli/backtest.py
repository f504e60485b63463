"""Backtest commands: backtest, walk-forward."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from pipelines.cli._common import (
    DefaultSourceOpt,
    JsonOpt,
    TimeframeOpt,
    app,
    emit_json,
    err,
    errors,
    json_object,
    out,
    source_or_default,
)
from pipelines.cli.progress import stage_progress
from pipelines.settings import get_settings

if TYPE_CHECKING:
    from pipelines.backtest import BacktestResult
    from pipelines.backtest.honest import HonestResults

StopLossOpt = Annotated[float | None, typer.Option(help="Stop-loss as a fraction of the entry price")]
TakeProfitOpt = Annotated[float | None, typer.Option(help="Take-profit as a fraction of the entry price")]

HEADLINE = (
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "max_drawdown",
    "num_trades",
    "win_rate",
    "exposure",
)


def _print_metrics(metrics: dict[str, Any]) -> None:
    for key in HEADLINE:
        value = metrics.get(key)
        text = "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        out.print(f"  {key:<16}{text:>12}")


def print_trust(blocks: Mapping[str, Any]) -> None:
    """The short "how much to trust this" block of an answer's ``benchmark`` and ``significance``
    blocks (all of them are in ``--json``)."""
    from pipelines.backtest.honest import trust_lines

    out.print("  [bold]how much to trust this[/]")
    for label, text in trust_lines(blocks):
        out.print(f"  {label:<16}{escape(text)}", highlight=False, soft_wrap=True)


def _report(
    result: BacktestResult, honest: HonestResults, request: dict[str, Any], title: str, *, as_json: bool
) -> None:
    """The result as JSON (the request's fields first), or a headline, the main metrics and the trust
    block."""
    if as_json:
        emit_json({**request, **result.as_dict(), **honest.as_dict()})
        return
    out.print(f"{title}: {result.num_bars} bars, final equity {result.final_equity:,.2f}")
    _print_metrics(result.metrics)
    print_trust(honest.as_dict())


@app.command()
def backtest(
    strategy: Annotated[
        str,
        typer.Option(help="buy_and_hold | sma_cross | rsi_reversion | bollinger_breakout | ml_predictive"),
    ],
    symbol: Annotated[str, typer.Option(help="AAPL, BTC/USDT, ...")],
    params: Annotated[
        str | None, typer.Option(help='Strategy parameters as JSON, e.g. \'{"fast": 10, "slow": 20}\'')
    ] = None,
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
    """Backtest a registered strategy: fills at the next bar's open, with commission and slippage."""
    # Imported on use, for the CLI's start-up time: pandas, numba.
    from pipelines.app.backtest_plan import backtest_run, plan_backtest

    settings = get_settings()
    with errors():
        request = plan_backtest(
            settings,
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
        if as_json:
            run = backtest_run(settings, request)
        else:
            with err.status(f"backtesting {request.strategy} on {request.symbol} {request.timeframe}"):
                run = backtest_run(settings, request)
    _report(
        run.result,
        run.honest,
        {"strategy": request.strategy, "params": request.params, "symbol": request.symbol},
        f"[bold]{request.strategy}[/] on {request.symbol} {request.timeframe}",
        as_json=as_json,
    )


@app.command("walk-forward")
def walk_forward_cmd(
    model_type: Annotated[str, typer.Option(help="simple | random_forest | lightgbm | xgboost | lstm")],
    symbol: Annotated[str, typer.Option(help="AAPL, BTC/USDT, ...")],
    source: DefaultSourceOpt = None,
    path: Annotated[Path | None, typer.Option(help="CSV or Parquet file for --source file")] = None,
    timeframe: TimeframeOpt = "1d",
    start: Annotated[str | None, typer.Option(help="First day")] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive end")] = None,
    train_window: Annotated[int, typer.Option(help="Training bars per fold")] = 252,
    test_window: Annotated[int, typer.Option(help="Out-of-sample bars per fold")] = 63,
    mode: Annotated[str, typer.Option(help="rolling | expanding training window")] = "rolling",
    params: Annotated[str | None, typer.Option(help="Model hyperparameters as JSON")] = None,
    threshold: Annotated[
        float, typer.Option(help="Signal above it goes long, below minus it short/flat")
    ] = 0.2,
    initial_capital: Annotated[float, typer.Option(help="Starting equity")] = 10_000.0,
    commission: Annotated[float, typer.Option(help="Fraction of traded notional per fill")] = 0.001,
    slippage: Annotated[float, typer.Option(help="Fraction of price against the trader")] = 0.0,
    allow_short: Annotated[bool, typer.Option("--allow-short", help="Go short instead of flat")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Retrain per window (rolling: last --train-window bars; expanding: all so far), trade the next."""
    # Imported on use, for the CLI's start-up time: pandas, numba, the model libraries.
    from pipelines.app.walk_forward_plan import plan_walk_forward, walk_forward_run

    settings = get_settings()
    with errors():
        request = plan_walk_forward(
            settings,
            model_type=model_type,
            symbol=symbol,
            params=json_object(params, "--params"),
            train_window=train_window,
            test_window=test_window,
            mode=mode,
            threshold=threshold,
            source=source_or_default(settings, source, symbol, timeframe),
            path=path,
            timeframe=timeframe,
            start=start,
            end=end,
            initial_capital=initial_capital,
            commission=commission,
            slippage=slippage,
            allow_short=allow_short,
        )
        label = f"walk-forward {request.model_type} on {request.symbol} {request.timeframe}"
        with stage_progress(not as_json, label) as update:
            run = walk_forward_run(settings, request, update)
    _walk_forward_report(run, request, as_json=as_json)


def _walk_forward_report(run: Any, request: Any, *, as_json: bool) -> None:
    """A walk-forward's warnings on stderr; its result and blocks as JSON, or a headline, the main
    metrics and the trust block."""
    result = run.result
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if as_json:
        payload = {**result.as_dict(), **run.honest.as_dict()}
        emit_json({"model_type": request.model_type, "symbol": request.symbol, **payload})
        return
    out.print(
        f"[bold]walk-forward[/] {request.model_type} on {request.symbol}: {len(result.folds)} folds, "
        f"final equity {result.final_equity:,.2f}"
    )
    _print_metrics(result.metrics)
    print_trust(run.honest.as_dict())
