"""Data commands: ingest, features, resample, data list/check, query."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pipelines.atomic import atomic_target
from pipelines.cli._common import (
    JsonOpt,
    SourceOpt,
    TimeframeOpt,
    app,
    data_app,
    emit_json,
    err,
    errors,
    fail,
    note_empty_home,
    out,
    progress,
)
from pipelines.cli.tables import datasets_table
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.settings import Settings, get_settings

if TYPE_CHECKING:
    from pipelines.app.recovery import RecoveryReport


@app.command()
def ingest(
    symbols: Annotated[str, typer.Option("--symbols", "--symbol", help="Comma-separated: AAPL,BTC/USDT")],
    source: SourceOpt = "synthetic",
    timeframe: TimeframeOpt = "1d",
    start: Annotated[
        str | None, typer.Option(help="First day (default: the configured history start)")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive end (default: now)")] = None,
    path: Annotated[Path | None, typer.Option(help="CSV or Parquet file for --source file")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch bars into the Parquet store (incremental: only what is missing is fetched)."""
    # Imported on use, for the CLI's start-up time: pandas, pyarrow.
    from pipelines.app.ingest import BarsRequest, ingest_bars, plan_bars, symbols_of

    settings = get_settings()
    with errors():
        request = BarsRequest(source, symbols_of(symbols), timeframe, start, end, path)
        plan = plan_bars(settings, request)
        with progress(not as_json, len(plan.symbols), "ingest") as update:
            report = ingest_bars(settings, plan, on_progress=update).report
    if as_json:
        emit_json(report.as_dict())
    else:
        table = Table(title=f"ingest {report.source} {report.timeframe} ({report.seconds:.2f} s)")
        for col in ("symbol", "written", "total", "first", "last", "status"):
            table.add_column(col)
        for s in report.symbols:
            status = "[green]ok[/]" if s.ok else f"[red]{s.error}[/]"
            table.add_row(
                s.symbol, str(s.rows_written), str(s.rows_total), s.first or "", s.last or "", status
            )
        out.print(table)
    if report.failed:
        raise fail("failed: " + "; ".join(f"{s.symbol}: {s.error}" for s in report.failed), 1)


@app.command()
def features(
    symbol: Annotated[str, typer.Option(help="AAPL, BTC/USDT, ...")],
    source: SourceOpt = "synthetic",
    timeframe: TimeframeOpt = "1d",
    feature_set: Annotated[str, typer.Option(help="default | minimal")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Compute the feature set and labels over the stored bars of one symbol."""
    # Imported on use, for the CLI's start-up time: pandas, numba.
    from pipelines.features.store import build_features

    settings = get_settings()
    with errors():
        if as_json:
            result = build_features(
                settings, source=source, symbol=symbol, timeframe=timeframe, feature_set=feature_set
            )
        else:
            with err.status(f"computing features for {symbol} {timeframe}"):
                result = build_features(
                    settings, source=source, symbol=symbol, timeframe=timeframe, feature_set=feature_set
                )
    if as_json:
        emit_json(result.as_dict())
    else:
        out.print(
            f"{result.rows} rows x {result.columns} columns ({len(result.feature_columns)} features) "
            f"in {result.seconds:.2f} s -> {result.path}"
        )


@app.command()
def resample(
    symbol: Annotated[str, typer.Option(help="AAPL, BTC/USDT, ...")],
    to_timeframe: Annotated[str, typer.Option("--to", help="Target timeframe, e.g. 1h")],
    from_timeframe: Annotated[str, typer.Option("--from", help="Stored timeframe")] = "1m",
    source: SourceOpt = "synthetic",
    output: Annotated[Path | None, typer.Option(help="Write the bars to this .csv or .parquet file")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Aggregate stored bars to a longer timeframe through DuckDB."""
    # Imported on use, for the CLI's start-up time: DuckDB.
    from pipelines.data.warehouse import Warehouse

    settings = get_settings()
    with errors():
        if output is not None and output.suffix not in (".csv", ".parquet"):
            raise InvalidRequestError(f"--output must end in .csv or .parquet, not {output.suffix!r}")
        bars = Warehouse(settings).resample(
            source=source, symbol=symbol, from_timeframe=from_timeframe, to_timeframe=to_timeframe
        )
    if output is not None:
        with atomic_target(output) as tmp:
            bars.to_csv(tmp, index=False) if output.suffix == ".csv" else bars.to_parquet(tmp, index=False)
    if as_json:
        emit_json(
            {
                "rows": len(bars),
                "path": str(output) if output else None,
                "first": str(bars["timestamp"].iloc[0]),
                "last": str(bars["timestamp"].iloc[-1]),
            }
        )
    else:
        out.print(bars.tail(10).to_string(index=False))
        out.print(f"{len(bars)} {to_timeframe} bars" + (f" -> {output}" if output else ""))


@data_app.command("list")
def data_list(as_json: JsonOpt = False) -> None:
    """Every stored dataset: its span, latest close and feature table."""
    # Imported on use, for the CLI's start-up time: pandas.
    from pipelines.app.market_data import dataset_summaries

    settings = get_settings()
    stored = settings.storage.data_url is not None or settings.market_dir.is_dir()
    rows = dataset_summaries(settings) if stored else []
    if not rows:
        note_empty_home(settings, "stored market data")
    if as_json:
        emit_json(
            {
                "datasets": [
                    {
                        "source": d.source,
                        "timeframe": d.timeframe,
                        "symbol": d.symbol,
                        "rows": d.rows,
                        "first": d.first.isoformat(),
                        "last": d.last.isoformat(),
                        "last_close": d.last_close,
                        "feature_count": d.feature_count,
                    }
                    for d in rows
                ]
            }
        )
        return
    if rows:
        out.print(datasets_table(rows))


@data_app.command("check")
def data_check(
    symbol: Annotated[str | None, typer.Option(help="AAPL, BTC/USDT, ...")] = None,
    source: SourceOpt = "synthetic",
    timeframe: TimeframeOpt = "1d",
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Clean up after crashes: stale temp files, MLflow runs of dead trainings, abandoned uploads",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the quality rules over one stored dataset (exit 1 when a hard rule fails); with
    --repair, first clean up what killed processes left behind."""
    # Imported on use, for the CLI's start-up time: pandas.
    from pipelines.data.stored_bars import check_stored_bars

    settings = get_settings()
    with errors():
        if symbol is None and not repair:
            raise InvalidRequestError("give --symbol to check a dataset, or --repair to clean up")
    repaired = _repair(settings) if repair else None
    if symbol is None:
        _print_repair(repaired, as_json)
        return
    with errors():
        report = check_stored_bars(settings, source=source, symbol=symbol, timeframe=timeframe)
    if as_json:
        emit_json({**report.as_dict(), **({"repair": repaired.as_dict()} if repaired else {})})
    else:
        _print_repair(repaired, as_json)
        out.print(
            f"{report.rows} rows, {report.gap_count} gaps; " + ("passed" if report.passed else "FAILED")
        )
        for line in report.failures():
            out.print(f"  - {line}")
    if not report.passed:
        raise typer.Exit(1)


def _repair(settings: Settings) -> RecoveryReport:
    # Imported on use, for the CLI's start-up time: SQLAlchemy, MLflow.
    from pipelines.app.recovery import recover
    from pipelines.db import open_database
    from pipelines.models.tracking import open_tracker

    database = open_database(settings)
    try:
        return recover(settings, tracker=open_tracker(settings), database=database)
    finally:
        database.close()


def _print_repair(report: RecoveryReport | None, as_json: bool) -> None:
    if report is None:
        return
    if as_json:
        emit_json(report.as_dict())
        return
    out.print(
        f"repair: {len(report.temp_files)} stale temp files ({report.temp_bytes / 1e6:.1f} MB), "
        f"{len(report.failed_runs)} orphaned MLflow runs failed, "
        f"{len(report.removed_uploads)} abandoned uploads removed, "
        f"{len(report.removed_results)} expired or orphaned result folders removed"
    )
    for line in (*report.temp_files, *(f"run {r}" for r in report.failed_runs)):
        out.print(f"  - {line}")
    for dataset in report.removed_uploads:
        out.print(f"  - dataset {dataset}")
    for job_id in report.removed_results:
        out.print(f"  - results of job {job_id}")
    for problem in report.errors:
        err.print(f"  ! {problem}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One read statement over the views bars and features")],
) -> None:
    """Run one read-only statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) against the
    DuckDB warehouse; anything that writes, attaches, loads or reads other files exits 2."""
    # Imported on use, for the CLI's start-up time: DuckDB.
    import duckdb

    from pipelines.data.warehouse import Warehouse

    settings = get_settings()
    try:
        with errors():
            if not settings.home.is_dir():
                raise DataNotFoundError(
                    f"no Tradeforge home at {settings.home} ({settings.home_origin}); "
                    "run `tradeforge ingest` first"
                )
            frame = Warehouse(settings).query_readonly(sql)
    except duckdb.Error as exc:
        raise fail(f"query failed: {exc}", 2) from None
    out.print(frame.to_string(index=False))
