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
    """A few rows read from the frame's own blocks (None: not the canonical columns and dtypes). Neither
    ``to_numpy`` (it interleaves the categorical label columns, about 0.3 ms) nor column access
    (a Series per column) is cheap enough for 100 symbols a tick: the block manager's arrays are. The
    five prices come as one slice of their float block when it holds them in order (as the feed's
    frames do), else column by column."""
    mgr: Any = getattr(frame, "_mgr", None)  # pandas' own, not in its stubs
    column_array: Any = getattr(frame, "_get_column_array", None)
    places = _places(frame.columns)
    if places is None or mgr is None or column_array is None or not hasattr(mgr, "blknos"):
        return None
    stamps = column_array(places[0])
    scale = _PER_UNIT.get(getattr(stamps, "unit", ""))
    if scale is None or not isinstance(stamps, pd.arrays.DatetimeArray) or stamps.tz is None:
        return None
    ts = [t * scale for t in cast(Any, stamps).asi8.tolist()]  # epoch ints (not in the stubs)
    nos, locs = mgr.blknos.tolist(), mgr.blklocs.tolist()
    block, first = nos[places[1]], locs[places[1]]
    if all(nos[p] == block and locs[p] == first + j for j, p in enumerate(places[1:])):
        values = mgr.blocks[block].values
        if isinstance(values, np.ndarray) and values.dtype == np.float64:
            rows = values[first : first + 5].T.tolist()
            return [Bar(t, *row) for t, row in zip(ts, rows, strict=True)]
    arrays = [column_array(p) for p in places[1:]]
    if not all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in arrays):
        return None
    return [Bar(*row) for row in zip(ts, *(a.tolist() for a in arrays), strict=True)]


def _places(columns: pd.Index) -> list[int] | None:
    """The positions of the canonical columns (None: one missing or repeated). ``get_loc`` per name:
    iterating the labels (arrow strings) costs several times more."""
    try:
        found = [columns.get_loc(c) for c in _COLUMNS]
    except KeyError:
        return None
    places = [i for i in found if isinstance(i, int)]
    return places if len(places) == len(found) else None


_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
