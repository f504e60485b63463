"""A strategy runner's position follows its broker: a leg the broker refuses is undone in the runner.

Before each leg it plans, the runner keeps its kernel state, trade rows and entry time
(``StrategyRunner.undo``, for the current bar only). A refused entry (or addition) restores the
state before it with its target kept as acted on, so the runner is flat and enters again only at
its strategy's next entry signal, never bar after bar. A refused exit restores the position: a
signal exit is retried by its still pending target at the next open, a stop or take-profit by a
market exit at the next open (``exit_due``). The legs after a refused one in that bar (a stop of
the entry undone) are moot. An exit refused because the broker holds no position stands: the
broker is flat already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from pipelines.backtest import _kernel as k
from pipelines.trading.broker import NO_POSITION

if TYPE_CHECKING:
    from pipelines.trading.runner import PlannedOrder, StrategyRunner

__all__ = ["Undo", "undo_refused"]

# What a leg changed, to undo when the broker refuses it: the state, trade rows, entry time.
Undo = tuple[npt.NDArray[np.float64], int, int]


def undo_refused(runner: StrategyRunner, planned: PlannedOrder, reason: str) -> None:
    """The broker refused ``planned`` (for ``reason``): undo it in ``runner`` and count the refusal."""
    undo = runner.undo.pop((planned.bar_ts_ns, planned.leg), None)
    entry = planned.leg in ("enter", "resize")
    if undo is None or (reason == NO_POSITION and not entry):
        return
    runner.refusals += 1
    runner.last_refusal = reason
    target = runner.st[k.LAST_TGT]
    st, rows, runner._entry_ts = undo
    runner.st[:] = st
    del runner.trades[rows:], runner.trade_times[rows:]
    if entry:
        runner.st[k.LAST_TGT] = target
    else:
        runner.exit_due = planned.leg != "exit"  # a signal exit is retried by its pending target
    runner.undo = {key: u for key, u in runner.undo.items() if key[0] != planned.bar_ts_ns}
    runner.equity = float(runner.st[k.CASH] + runner.st[k.UNITS] * runner.last_close)
