"""The whole of a backtest's per-bar equity curve and trade list as Arrow tables: what an answer cut
to ``max_response_points`` leaves out, written to files for download."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pipelines.backtest.curves import drawdown
from pipelines.backtest.engine import TIME_COLUMNS, Trades

__all__ = ["curve_table", "trades_table"]

_UTC_NS = pa.timestamp("ns", tz="UTC")


def curve_table(timestamps_ns: npt.NDArray[np.int64], equity: npt.NDArray[np.float64]) -> pa.Table:
    """One row per bar: ``timestamp`` (UTC), ``equity`` at its close, ``drawdown`` from the running peak."""
    return pa.table(
        {
            "timestamp": pa.array(timestamps_ns, type=pa.int64()).cast(_UTC_NS),
            "equity": pa.array(equity, type=pa.float64()),
            "drawdown": pa.array(drawdown(equity), type=pa.float64()),
        }
    )


def trades_table(trades: Trades) -> pa.Table:
    """One row per round trip, with the columns (and values) of the answer's ``trades`` records."""
    return pa.table(
        {
            name: pa.array(column, type=pa.int64()).cast(_UTC_NS)
            if name in TIME_COLUMNS
            else pa.array(column, type=pa.string() if column.dtype == object else None)
            for name, column in trades.columns().items()
        }
    )
