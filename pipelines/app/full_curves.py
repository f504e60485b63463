"""The whole equity curve and trade list of a backtest or walk-forward answer that was cut to
``max_response_points``, kept as files of the caller's job for download.

An async run keeps them under its job id. A synchronous run gets a fresh id; when it keeps files it
is recorded as a completed job of its caller, so the same job routes find them, check who may read
them and list the run, and the recovery removes them once no job points to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from pipelines.backtest.engine import Trades
from pipelines.backtest.full_curve import curve_table, trades_table
from pipelines.db.engine import Database
from pipelines.jobs.files import file_links, record_completed, write_job_files
from pipelines.settings import Settings

__all__ = ["keep_full_curve", "run_keeping_files"]


class CurveResult(Protocol):
    """A ``BacktestResult`` or a ``WalkForwardResult``."""

    @property
    def timestamps_ns(self) -> npt.NDArray[np.int64]: ...

    @property
    def equity(self) -> npt.NDArray[np.float64]: ...

    @property
    def trades(self) -> Trades: ...


def keep_full_curve(
    settings: Settings, result_id: str | None, result: CurveResult, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The answer's ``full_curve``: None when nothing was cut (or no id to keep files under);
    otherwise the files are written and this says where to download them."""
    if result_id is None or not (body["equity_curve_downsampled"] or body["trades_truncated"]):
        return None
    tables = {
        "equity_curve": curve_table(result.timestamps_ns, result.equity),
        "trades": trades_table(result.trades),
    }
    write_job_files(settings, result_id, tables)
    return file_links(settings, result_id)


def run_keeping_files(
    database: Database,
    kind: str,
    params: dict[str, Any],
    owner: str,
    run: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """Answer a synchronous ``run(result_id)``; an answer that kept files is recorded as a completed
    job of ``owner`` under that id."""
    result_id = str(uuid.uuid4())
    body = run(result_id)
    if body.get("full_curve") is not None:
        record_completed(database, result_id, kind, params, owner, body)
    return body
