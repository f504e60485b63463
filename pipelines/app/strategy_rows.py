"""The rows behind the live strategies: the feed's bar frames as runner bars, and the runners' saved
states written (updated in one statement, inserted the first time)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from pipelines.db.strategy_models import StrategyRunState
from pipelines.db.types import utc_now
from pipelines.features.inputs import utc_nanos
from pipelines.trading.runner import Bar

__all__ = ["StateRow", "bars_of", "write_states"]

StateRow = tuple[str, str, int | None, dict[str, Any]]  # strategy, symbol, last bar, state


_UPDATE_STATE = (
    update(StrategyRunState)
    .where(StrategyRunState.strategy_id == bindparam("sid"), StrategyRunState.symbol == bindparam("sym"))
    .values(last_ts=bindparam("last_ts"), state=bindparam("state"), updated_at=bindparam("at"))
)


def write_states(session: Session, rows: list[StateRow]) -> None:
    """Update the runners' rows (one statement), inserting those not there yet (no read first)."""
    if not rows:
        return
    now = utc_now()
    values = [
        {"sid": sid, "sym": sym, "last_ts": ts, "state": state, "at": now} for sid, sym, ts, state in rows
    ]
    conn = session.connection()
    multi = len(values) > 1 and conn.dialect.supports_sane_multi_rowcount
    if multi and conn.execute(_UPDATE_STATE, values).rowcount == len(values):
        return  # else some are new: row by row below (the updates are idempotent)
    for value in values:
        if conn.execute(_UPDATE_STATE, value).rowcount == 0:
            session.add(
                StrategyRunState(
                    strategy_id=value["sid"],
                    symbol=value["sym"],
                    last_ts=value["last_ts"],
                    state=value["state"],
                )
            )
            session.flush()


_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]


def bars_of(frame: pd.DataFrame) -> list[Bar]:
    """The runner's bars of a bar frame (``timestamp`` datetimes, tz-naive read as UTC)."""
    if len(frame) == 0:
        return []
    if len(frame) <= 4:  # a feed tick's bars: row by row from the column arrays
        fast = _tick_bars(frame)
        if fast is not None:
            return fast
    ts = utc_nanos(frame["timestamp"]).tolist()
    cols = [frame[c].to_numpy(np.float64).tolist() for c in _COLUMNS[1:]]
    return [Bar(*row) for row in zip(ts, *cols, strict=True)]  # column by column: cheaper than a sub-frame


def _tick_bars(frame: pd.DataFrame) -> list[Bar] | None:
    """A few rows read from the frame's own column arrays (None: not the canonical columns). Neither
    ``to_numpy`` (it interleaves the categorical label columns, about 0.3 ms) nor column access
    (a Series per column) is cheap enough for 100 symbols a tick: the block manager's arrays are."""
    column_array = getattr(frame, "_get_column_array", None)  # pandas' own, not in its stubs
    columns = frame.columns
    if column_array is None or not columns.is_unique or not all(c in columns for c in _COLUMNS):
        return None
    arrays = [column_array(columns.get_loc(c)) for c in _COLUMNS]
    stamps = arrays[0]
    scale = _PER_UNIT.get(getattr(stamps, "unit", ""))
    if scale is None or not isinstance(stamps, pd.arrays.DatetimeArray) or stamps.tz is None:
        return None
    if not all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in arrays[1:]):
        return None
    ts = [t * scale for t in cast(Any, stamps).asi8.tolist()]  # epoch ints (not in the stubs)
    cols = [a.tolist() for a in arrays[1:]]
    return [Bar(*row) for row in zip(ts, *cols, strict=True)]


_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
