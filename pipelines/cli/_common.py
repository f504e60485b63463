"""Shared pieces of the ``tradeforge`` command line: the app, options, error handling, output."""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer import _click
from typer.core import TyperGroup, TyperOption

from pipelines.errors import DataNotFoundError, InvalidRequestError, TradeforgeError
from pipelines.settings import Settings

__all__ = [
    "DefaultSourceOpt",
    "JsonOpt",
    "SourceOpt",
    "SwitchGroup",
    "TimeframeOpt",
    "app",
    "data_app",
    "emit_json",
    "err",
    "errors",
    "fail",
    "json_object",
    "models_app",
    "note_empty_home",
    "out",
    "progress",
    "source_or_default",
]


def _plain_switches(params: list[_click.Parameter]) -> list[_click.Parameter]:
    """Give every flag an empty metavar, so typer's help panel prints it without a type."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class SwitchGroup(TyperGroup):
    """A command group whose help shows flags as plain switches (``--json``): typer's rich help
    panel otherwise prints each flag's type (``--json <bool>``), as if it took a value."""

    def get_params(self, ctx: _click.Context) -> list[_click.Parameter]:
        return _plain_switches(super().get_params(ctx))

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_switches(command.get_params(ctx))
        return command


class _Tradeforge(typer.Typer):
    """The ``tradeforge`` entry point, with the cyclic garbage collector set for a short process.

    A command's start-up builds a large heap that lives until exit (pandas' and numba's modules,
    numba's type and lowering registries: ~180,000 tracked objects for ``features``). With Python's
    default thresholds the collector traverses it again and again while it grows (0.2 s of CPU in
    ``features``), and again when the interpreter clears its modules at exit (0.3 s). So the young
    generation is collected every 10,000 allocations instead of 700 and the middle one every 50 of
    those instead of 10, and the heap is frozen when the command has finished: exit frees it without
    the collector's passes (objects still in reference cycles then are not finalized, which Python
    never promises at exit; atexit handlers and logging's flush still run). Only the console script
    goes through here, not in-process test runs."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        young, older, oldest = gc.get_threshold()
        gc.set_threshold(max(young, 10_000), max(older, 50), oldest)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            gc.freeze()


app = _Tradeforge(
    cls=SwitchGroup,
    no_args_is_help=True,
    add_completion=False,
    help="Tradeforge: data, features, models, serving.",
)
data_app = typer.Typer(cls=SwitchGroup, no_args_is_help=True, help="Inspect stored market data.")
app.add_typer(data_app, name="data")
models_app = typer.Typer(cls=SwitchGroup, no_args_is_help=True, help="Registered models (MLflow registry).")
app.add_typer(models_app, name="models")


class _Console(Console):
    """A console whose width follows ``COLUMNS`` (or the terminal) at each print. A plain ``Console``
    fixes the ``COLUMNS`` it sees when it is made, and these are made at import, before the command's
    environment is known (an embedding caller, a test runner)."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr)
        self._width = None


err = _Console(stderr=True)
out = _Console()


class _StderrNotes(logging.Handler):
    """Warnings of the data providers (a source being retried) printed on stderr as they happen."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(f"[yellow]{escape(record.getMessage())}[/]", highlight=False, soft_wrap=True)


@app.callback()
def _show_provider_warnings() -> None:
    notes = logging.getLogger("pipelines.data.providers")
    if not any(isinstance(h, _StderrNotes) for h in notes.handlers):
        handler = _StderrNotes(logging.WARNING)
        notes.addHandler(handler)
        notes.setLevel(min(notes.getEffectiveLevel(), logging.WARNING))


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
SourceOpt = Annotated[str, typer.Option("--source", help="synthetic | yfinance | ccxt | file")]
DefaultSourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="synthetic | yfinance | ccxt | file (default: synthetic for the universe's symbols, "
        "else what the store holds, else yfinance for stocks and ccxt for pairs)",
    ),
]
TimeframeOpt = Annotated[str, typer.Option("--timeframe", help="1m 2m 5m 15m 30m 1h 4h 1d 1wk 1mo")]


def source_or_default(settings: Settings, source: str | None, symbol: str, timeframe: str) -> str:
    """``source`` when given, else the default source of ``symbol``'s bars (synthetic only for the
    universe's symbols; another symbol is read from its real provider, or refused when that fails)."""
    # Imported on use, for the CLI's start-up time: it loads pandas and the data store.
    from pipelines.data.default_source import default_source

    return source or default_source(settings, symbol, timeframe)


def note_empty_home(settings: Settings, what: str) -> None:
    """Say on stderr which home a read found nothing in, and how that home was chosen."""
    note = f"No {what} in {settings.home} ({settings.home_origin})"
    err.print(note, highlight=False, markup=False, soft_wrap=True)


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Bad input and missing data exit 2; failures of a data source exit 1."""
    try:
        yield
    except (InvalidRequestError, DataNotFoundError) as exc:
        raise fail(str(exc), 2) from None
    except TradeforgeError as exc:
        raise fail(str(exc), 1) from None


def emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, default=str) + "\n")


@contextmanager
def progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[str, int, int], None]]:
    if not enabled:
        yield lambda *_: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def update(name: str, done: int, _total: int) -> None:
            bar.update(task, completed=done, description=f"{label} {name}")

        yield update


def json_object(text: str | None, flag: str) -> dict[str, Any]:
    """The JSON object given to ``flag`` (empty when the flag was not given)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"{flag} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise InvalidRequestError(f'{flag} must be a JSON object such as {{"n_estimators": 500}}')
    return value
