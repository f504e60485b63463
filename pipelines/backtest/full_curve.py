"""The whole of a backtest's per-bar equity curve and trade list as Arrow tables: what an answer cut
to ``max_response_points`` leaves out, written to files for download."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pipelines.backtest import _kernel as k
from pipelines.backtest.curves import drawdown
from pipelines.backtest.engine import EXIT_REASONS, Trades
from pipelines.backtest.metrics import held_bars

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
    m, ts = trades.matrix, trades.timestamps_ns
    entry = m[:, k.T_ENTRY_IDX].astype(np.int64)
    exit_ = m[:, k.T_EXIT_IDX].astype(np.int64)
    reasons = np.asarray(EXIT_REASONS, dtype=object)[m[:, k.T_REASON].astype(np.int64)]
    return pa.table(
        {
            "entry_time": pa.array(ts[entry], type=pa.int64()).cast(_UTC_NS),
            "exit_time": pa.array(ts[exit_], type=pa.int64()).cast(_UTC_NS),
            "entry_bar": pa.array(entry),
            "exit_bar": pa.array(exit_),
            "side": pa.array(np.where(m[:, k.T_SIDE] > 0, "long", "short").astype(object), type=pa.string()),
            "size": pa.array(m[:, k.T_SIZE]),
            "entry_price": pa.array(m[:, k.T_ENTRY_PRICE]),
            "exit_price": pa.array(m[:, k.T_EXIT_PRICE]),
            "pnl": pa.array(m[:, k.T_PNL]),
            "pnl_pct": pa.array(m[:, k.T_PNL_PCT]),
            "commission": pa.array(m[:, k.T_COMMISSION]),
            "duration_bars": pa.array(held_bars(m)),
            "duration_seconds": pa.array((ts[exit_] - ts[entry]) / 1e9, type=pa.float64()),
            "exit_reason": pa.array(reasons, type=pa.string()),
        }
    )
