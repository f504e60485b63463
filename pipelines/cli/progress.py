"""Progress of a long command on stderr: the stage a use case reports through its
``progress(done, description)`` callback, on a rich bar (a terminal) or one line per stage (a log), with
the INFO lines of chatty libraries kept from breaking the bar."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from pipelines.cli import _common

__all__ = ["CHATTY_LOGGERS", "StageReport", "library_warnings_only", "stage_progress"]

# Their INFO lines ("Creating initial MLflow database tables...", "Registered model ...", alembic's
# migrations) say nothing a command's user acts on; their warnings still show.
CHATTY_LOGGERS = ("mlflow", "alembic", "sqlalchemy.engine", "huey")
_MLFLOW_LEVEL = "MLFLOW_LOGGING_LEVEL"  # read once, when mlflow is first imported

StageReport = Callable[[float, str], None]


@contextmanager
def library_warnings_only() -> Iterator[None]:
    """:data:`CHATTY_LOGGERS` at WARNING (whether mlflow is imported before or inside the block), as
    they were afterwards; a ``MLFLOW_LOGGING_LEVEL`` the user set is left alone."""
    if os.environ.get(_MLFLOW_LEVEL):
        yield
        return
    loggers = [logging.getLogger(name) for name in CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    os.environ[_MLFLOW_LEVEL] = "WARNING"
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        os.environ.pop(_MLFLOW_LEVEL, None)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _silent(_done: float, _text: str) -> None:
    return None


@contextmanager
def stage_progress(enabled: bool, label: str, total: float = 100.0) -> Iterator[StageReport]:
    """A ``progress(done, description)`` callback (``done`` out of ``total``; percent by default) that
    shows ``label: description`` on stderr: a bar on a terminal, else a line each time the description
    changes. Disabled, it shows nothing. Library INFO logs stay quiet either way."""
    with library_warnings_only():
        if not enabled:
            yield _silent
        elif not _common.err.is_terminal:
            yield _stage_lines(label)
        else:
            columns = (
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=_common.err, transient=True) as bar:
                task = bar.add_task(label, total=total)

                def update(done: float, text: str) -> None:
                    bar.update(task, completed=done, description=f"{label}: {text}", refresh=True)

                yield update


def _stage_lines(label: str) -> StageReport:
    last = [""]

    def update(_done: float, text: str) -> None:
        if text != last[0]:
            last[0] = text
            _common.err.print(f"{label}: {text}", highlight=False, markup=False, soft_wrap=True)

    return update
