"""Model commands: train, models list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from pipelines.cli._common import (
    DefaultSourceOpt,
    JsonOpt,
    TimeframeOpt,
    app,
    emit_json,
    errors,
    json_object,
    models_app,
    note_empty_home,
    out,
    source_or_default,
)
from pipelines.cli.progress import stage_progress
from pipelines.cli.tables import models_table
from pipelines.models.summaries import home_models
from pipelines.settings import get_settings

if TYPE_CHECKING:
    from pipelines.app.train import TrainResult


def _num(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.5f}"


def _report_training(result: TrainResult, *, as_json: bool) -> None:
    """The result as JSON, or the version, its promotion decision and the validation metrics."""
    if as_json:
        emit_json(result.as_dict())
        return
    out.print(
        f"[bold]{result.model_name}[/] version {result.version} ({result.kind}, {result.device}, "
        f"{result.seconds:.1f} s): {escape(result.decision)}"
    )
    compared = result.comparison
    if compared is not None and compared["rows"]:
        out.print(
            f"  compared on {compared['rows']} rows, {compared['window_start'][:10]} to "
            f"{compared['window_end'][:10]}: {compared['metric']} new {_num(compared['candidate'])}, "
            f"champion v{compared['champion_version']} {_num(compared['champion'])}"
        )
    if compared is not None and compared.get("deflated_sharpe") is not None:
        out.print(
            f"  held-out Sharpe {_num(compared['held_out_sharpe'])} per bar, deflated Sharpe ratio "
            f"{_num(compared['deflated_sharpe'])} over {compared['trials']} trials"
        )
    for key in ("val_r2", "val_rmse", "val_ic", "val_directional_accuracy"):
        if key in result.metrics:
            out.print(f"  {key:<26}{result.metrics[key]: .5f}")


@app.command()
def train(
    model_type: Annotated[
        str, typer.Option(help="simple | random_forest | lightgbm | xgboost | lstm | ensemble | multi_ohlc")
    ],
    model_name: Annotated[str, typer.Option(help="Registered model name (the API's model_name)")],
    symbol: Annotated[str, typer.Option(help="AAPL, BTC/USDT, ...")],
    timeframe: TimeframeOpt = "1d",
    source: DefaultSourceOpt = None,
    start: Annotated[str | None, typer.Option(help="First training day")] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive end")] = None,
    params: Annotated[
        str | None, typer.Option(help="Hyperparameters as JSON, e.g. '{\"n_estimators\": 500}'")
    ] = None,
    validation_split: Annotated[float, typer.Option(help="Share of the most recent rows held out")] = 0.2,
    horizon: Annotated[int, typer.Option(help="Bars ahead the model predicts")] = 1,
    feature_set: Annotated[str, typer.Option(help="default | minimal")] = "default",
    gpu: Annotated[
        bool | None, typer.Option("--gpu/--cpu", help="Force the device (default: CUDA when present)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Make the new version champion without beating the current one")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a model, log it to MLflow, register a version and make it champion if it beats the
    current one on the later of their two validation windows (or with --force)."""
    # Imported on use: training loads pandas, MLflow and the model libraries, which the other
    # commands (and ``--help``) never need.
    from pipelines.app.train import plan_training, train_model
    from pipelines.models.tracking import open_tracker

    settings = get_settings()
    with errors():
        parsed = json_object(params, "--params")
        request = plan_training(
            settings,
            model_type=model_type,
            model_name=model_name,
            symbol=symbol,
            timeframe=timeframe,
            source=source_or_default(settings, source, symbol, timeframe),
            start=start,
            end=end,
            params=parsed,
            validation_split=validation_split,
            horizon=horizon,
            feature_set=feature_set,
            gpu_enabled=gpu,
            force=force,
        )
        label = f"training {request.kind.value} {model_name} on {request.symbol} {request.timeframe}"
        prefix = f"{request.model_name}: "  # the label names the model already
        with stage_progress(not as_json, label) as update:
            result = train_model(
                settings,
                request,
                open_tracker(settings),
                progress=lambda done, text: update(done, text.removeprefix(prefix)),
            )
    _report_training(result, as_json=as_json)


@models_app.command("list")
def models_list(as_json: JsonOpt = False) -> None:
    """Registered models with their champion versions and validation metrics."""
    settings = get_settings()
    models = home_models(settings)
    if not models:
        note_empty_home(settings, "registered models")
    if as_json:
        emit_json({"models": [m.as_dict() for m in models], "count": len(models)})
    elif models:
        out.print(models_table(models))
