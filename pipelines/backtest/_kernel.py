"""The simulation: one compiled pass over the bars, trades recorded as they close.

Per bar i: (1) if the target decided at bar i-1's close differs from the last one acted on, trade
at bar i's open (close on a side change, then enter or resize); (2) while a position is open,
check the stop-loss then the take-profit against the bar's low/high (the stop first when both are
touched: the conservative reading of an unknown intrabar path); (3) mark to the close. Fills and
fees come from :mod:`pipelines.backtest.costs`, compiled as is.

Trades are rows of float matrices (columns ``T_*``): the kernel fills a buffer, returns when it is
nearly full, and ``simulate`` resumes it with one twice as large, so memory follows the number of
trades, not of bars. A trade's pnl is the sum of its cash flows (fees included), plus the
mark-to-market value for one still open at the end, so trade pnls add up to the equity change.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from pipelines.backtest import costs

__all__ = [
    "N_FIELDS",
    "REASON_END",
    "REASON_SIGNAL",
    "REASON_STOP",
    "REASON_TAKE_PROFIT",
    "T_COMMISSION",
    "T_ENTRY_IDX",
    "T_ENTRY_PRICE",
    "T_EXIT_IDX",
    "T_EXIT_PRICE",
    "T_PNL",
    "T_PNL_PCT",
    "T_REASON",
    "T_SIDE",
    "T_SIZE",
    "simulate",
]

FloatArray = npt.NDArray[np.float64]

T_ENTRY_IDX, T_EXIT_IDX, T_SIDE, T_SIZE, T_ENTRY_PRICE, T_EXIT_PRICE = 0, 1, 2, 3, 4, 5
T_PNL, T_PNL_PCT, T_REASON, T_COMMISSION = 6, 7, 8, 9
N_FIELDS = 10
REASON_SIGNAL, REASON_STOP, REASON_TAKE_PROFIT, REASON_END = 0, 1, 2, 3

_jit = njit(cache=True, nogil=True)
_fill_price = _jit(costs.fill_price)
_commission = _jit(costs.commission)
_entry_units = _jit(costs.entry_units)

# The position's state, one float array so helpers can update it in place.
CASH, UNITS, SIDE, ENTRY, ADD_U, ADD_V, RED_U, RED_V, FLOW, PEAK, FEES, LAST_TGT = range(12)
N_STATE = 12


def _fill_impl(st: FloatArray, delta: float, price: float, slip: float, rate: float) -> None:
    """Trade ``delta`` units (+ buys) at ``price`` before slippage; book cash, flows and fees."""
    d_side = 1 if delta > 0.0 else -1
    fill = _fill_price(d_side, price, slip)
    fee = _commission(delta * fill, rate)
    st[CASH] -= delta * fill + fee
    st[FLOW] -= delta * fill + fee
    st[FEES] += fee
    if d_side == st[SIDE]:
        st[ADD_U] += abs(delta)
        st[ADD_V] += abs(delta) * fill
    else:
        st[RED_U] += abs(delta)
        st[RED_V] += abs(delta) * fill
    st[UNITS] += delta
    st[PEAK] = max(st[PEAK], abs(st[UNITS]))


def _rebalance_impl(st: FloatArray, i: int, tgt: float, price: float, slip: float, rate: float) -> None:
    """Move exposure to ``tgt`` (same side as the position, or from flat) at this open."""
    new_side = 1 if tgt > 0.0 else (-1 if tgt < 0.0 else 0)
    value = st[CASH] + st[UNITS] * price
    want = abs(tgt) * value
    have = abs(st[UNITS]) * price
    if want > have:  # enter or add: buy for a long, sell for a short
        if st[UNITS] == 0.0:
            st[ADD_U:LAST_TGT] = 0.0  # a new trade's books; the last target acted on stays
            st[SIDE] = new_side
            st[ENTRY] = i
        units = _entry_units(want - have, _fill_price(new_side, price, slip), rate)
        _fill(st, new_side * units, price, slip, rate)
    elif want < have:  # reduce toward zero, keeping the trade open
        _fill(st, -st[SIDE] * (have - want) / price, price, slip, rate)


def _close_impl(
    st: FloatArray, trades: FloatArray, nt: int, i: int, price: float, slip: float, rate: float, reason: int
) -> None:
    """Close the whole position at ``price`` (before slippage) and record the trade in row ``nt``."""
    units = st[UNITS]
    side = st[SIDE]
    if reason == REASON_END:  # marked to market: no exit fill, no fee
        st[FLOW] += units * price
        st[RED_U] += abs(units)
        st[RED_V] += abs(units) * price
    else:
        _fill(st, -units, price, slip, rate)
    row = trades[nt]
    row[T_ENTRY_IDX] = st[ENTRY]
    row[T_EXIT_IDX] = i
    row[T_SIDE] = side
    row[T_SIZE] = st[PEAK]
    row[T_ENTRY_PRICE] = st[ADD_V] / st[ADD_U]
    row[T_EXIT_PRICE] = st[RED_V] / st[RED_U]
    row[T_PNL] = st[FLOW]
    row[T_PNL_PCT] = st[FLOW] / st[ADD_V]
    row[T_REASON] = reason
    row[T_COMMISSION] = st[FEES]
    st[UNITS] = 0.0
    st[SIDE] = 0.0


def _intrabar_exit_impl(
    st: FloatArray, open_: float, high: float, low: float, stop_loss: float, take_profit: float
) -> tuple[int, float]:
    """(reason, price) of a stop-loss or take-profit touched in this bar, or (-1, 0). Levels are
    fractions of the average entry fill; a bar that opens beyond a level fills at its open."""
    ref = st[ADD_V] / st[ADD_U]
    if st[SIDE] > 0:
        if stop_loss > 0.0 and low <= ref * (1.0 - stop_loss):
            return REASON_STOP, min(open_, ref * (1.0 - stop_loss))
        if take_profit > 0.0 and high >= ref * (1.0 + take_profit):
            return REASON_TAKE_PROFIT, max(open_, ref * (1.0 + take_profit))
    else:
        if stop_loss > 0.0 and high >= ref * (1.0 + stop_loss):
            return REASON_STOP, max(open_, ref * (1.0 + stop_loss))
        if take_profit > 0.0 and low <= ref * (1.0 - take_profit):
            return REASON_TAKE_PROFIT, min(open_, ref * (1.0 - take_profit))
    return -1, 0.0


_fill = _jit(_fill_impl)
_rebalance = _jit(_rebalance_impl)
_close = _jit(_close_impl)
_intrabar_exit = _jit(_intrabar_exit_impl)


def _simulate_impl(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    target: FloatArray,
    start: int,
    rate: float,
    slip: float,
    stop_loss: float,
    take_profit: float,
    st: FloatArray,
    equity: FloatArray,
    position: FloatArray,
    trades: FloatArray,
) -> tuple[int, int]:
    """Simulate from bar ``start`` until the end or until ``trades`` may not hold another bar's
    trades (two at most: a signal exit and a stop); return (next bar, trades written). The
    caller resumes with a fresh buffer: a buffer reassigned inside the loop would cost numba two
    atomic reference-count updates per bar, ten times the rest of the loop."""
    n = open_.size
    cap = trades.shape[0]
    nt = 0
    # The hot state lives in locals (registers); ``st`` is synced around the rare trades.
    cash = st[CASH]
    units = st[UNITS]
    side = st[SIDE]
    last_tgt = st[LAST_TGT]
    stops = stop_loss > 0.0 or take_profit > 0.0
    i = start
    while i < n and nt + 2 <= cap:
        if i > 0 and target[i - 1] != last_tgt:
            tgt = target[i - 1]
            last_tgt = tgt
            st[LAST_TGT] = tgt
            if units != 0.0 and (tgt == 0.0 or (tgt > 0.0) != (side > 0.0)):
                _close(st, trades, nt, i, open_[i], slip, rate, REASON_SIGNAL)
                nt += 1
            _rebalance(st, i, tgt, open_[i], slip, rate)
            cash = st[CASH]
            units = st[UNITS]
            side = st[SIDE]
        if stops and units != 0.0:
            reason, price = _intrabar_exit(st, open_[i], high[i], low[i], stop_loss, take_profit)
            if reason >= 0:
                _close(st, trades, nt, i, price, slip, rate, reason)
                nt += 1
                cash = st[CASH]
                units = 0.0
                side = 0.0
        equity[i] = cash + units * close[i]
        position[i] = units
        i += 1
    return i, nt


_simulate = _jit(_simulate_impl)


def simulate(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    target: FloatArray,
    *,
    initial: float,
    commission: float,
    slippage: float,
    stop_loss: float,
    take_profit: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(equity, position, trades) for exposures ``target`` (already clipped and sized; NaN-free).

    ``stop_loss``/``take_profit`` of 0 mean off. The trade buffer starts small and doubles, so
    memory follows the number of trades.
    """
    n = open_.size
    equity = np.empty(n)
    position = np.empty(n)
    st = np.zeros(N_STATE)
    st[CASH] = initial
    chunks: list[FloatArray] = []
    i, cap = 0, 64
    while i < n:
        buf = np.empty((cap, N_FIELDS))
        i, nt = _simulate(
            open_,
            high,
            low,
            close,
            target,
            i,
            commission,
            slippage,
            stop_loss,
            take_profit,
            st,
            equity,
            position,
            buf,
        )
        chunks.append(buf[:nt])
        cap *= 2
    if n > 0 and st[UNITS] != 0.0:
        last = np.empty((1, N_FIELDS))
        _close(st, last, 0, n - 1, float(close[n - 1]), slippage, commission, REASON_END)
        chunks.append(last)
    trades = np.concatenate(chunks) if chunks else np.empty((0, N_FIELDS))
    return equity, position, trades
