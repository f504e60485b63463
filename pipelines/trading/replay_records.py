"""The records of a replay's legs booked as columns (:mod:`pipelines.trading.replay_ledger`), made into
the book in bulk: every order, trade, balance, peak and change :func:`book_replay` leaves.

The legs alternate: an entry, then the close of all of its trade (the last entry may stay open). Each
money figure comes from the one pass's decimal operations (``book_fill``, ``PaperBook._settle_exit``),
operand for operand and in the same order, applied elementwise on object arrays of decimals: numpy
calls the same decimal operation for each element, in the thread's decimal context. The running cash
is ``np.add.accumulate`` (each leg's balance is the one before it plus its change, in leg order), the
peak the first greatest equity (``max``: a later equal one is not greater, as in ``book_fill``), the
day's realized pnl a sum in trade order. So every decimal is the one the per-leg arithmetic makes, its
exponent included, without a Python loop per trade.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from itertools import repeat
from typing import NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from pipelines.trading.book import PaperBook
from pipelines.trading.broker import OrderStatus, OrderType, Side
from pipelines.trading.equity import PAPER
from pipelines.trading.paper import EXIT_REASONS
from pipelines.trading.records import ZERO, Order, OrderPurpose, Trade, TradeSide, TradeStatus
from pipelines.trading.replay import KINDS, LEG_NAMES, ReplayLegs
from pipelines.trading.replay_book import Booked, _exact_array, _stamps
from pipelines.trading.reserve import quote_asset
from pipelines.trading.runner import RunnerConfig, client_order_ids

__all__ = ["make_records"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]
_T = TypeVar("_T")
_ZERO = np.asarray(ZERO, dtype=object)  # ``ZERO`` as the first operand of an elementwise sum


class _Columns(NamedTuple):
    """The booked legs' fields as the records hold them, in leg order (``quantity``: the entries', an
    exit closing all of its entry's; the decimals as object arrays)."""

    at: list[dt.datetime]
    client: list[str]
    side: list[Side]
    kind: list[OrderType]
    quantity: Objects
    level: list[Decimal | None]
    price: Objects
    fee: Objects


class _Floats(NamedTuple):
    """The floats whose exact decimals the columns hold: each leg's fill price and fee, each entry's
    quantity."""

    price: FloatArray
    fee: FloatArray
    quantity: FloatArray


class _Flows(NamedTuple):
    """Per leg: the cash after it, the value of the equity ``book_fill`` compares with the peak (the
    record itself for a long's entry) and the short's margin after it; per trade: its commission
    (entry and exit); per closed trade: its realized pnl."""

    cash: Objects
    value: Objects
    margin: Objects
    fees: Objects
    pnl: Objects


def make_records(
    book: PaperBook,
    cfg: RunnerConfig,
    name: str,
    legs: ReplayLegs,
    price: FloatArray,
    fee: FloatArray,
    ids: list[str],
) -> Booked:
    """The records of ``legs`` (filled at the ``price`` and ``fee`` floats, with ``ids`` drawn as the
    one pass draws them: a trade's, its entry's, its exit's) made into ``book``: per leg, whether it
    filled, the cash after it and the short's margin after it."""
    n = len(legs)
    if n == 0:
        return Booked([], [], [], 0)
    user = cfg.user_id
    cols = _fields(cfg, legs, price, fee)
    orders, order_ids, reasons = _orders(cfg, name, ids, cols, legs.code)
    account = book.account(user, quote_asset(cfg.symbol))  # made at the first fill: the first leg's
    buy, paper = legs.units[0::2] > 0.0, name == PAPER
    floats = _Floats(price, fee, np.abs(legs.units[0::2]))
    flows = _flows(cols, floats, buy, paper, account.balance)
    trade_ids = ids[0::3]
    later = bool(np.all(legs.ts[1::2] >= legs.ts[0 : n - 1 : 2]))  # each exit in or after its entry's bar
    trades = _trades(book, cfg, name, trade_ids, cols, flows, buy, reasons[1::2], later)
    cash = flows.cash.tolist()
    account.balance = cash[-1]
    account.peak = _peak(account.peak, flows, cols, buy, paper)
    if n > 1:  # a closed trade: the day's realized pnl, summed in trade order
        book.realized_today[user] = sum(flows.pnl.tolist(), book.realized_today.get(user, ZERO))
    _hold(book, account.key, (order_ids, trade_ids), cols.client, orders, trades)
    return Booked([True] * n, cash, flows.margin.tolist(), 0)


def _fields(cfg: RunnerConfig, legs: ReplayLegs, price: FloatArray, fee: FloatArray) -> _Columns:
    level = np.full(len(legs), None, dtype=object)  # a stop's or a limit's price
    kinds = np.isin(legs.code, list(KINDS))
    level[kinds] = _exact_array(legs.price[kinds])
    names = _mapped(legs.code, LEG_NAMES.__getitem__)
    return _Columns(
        _stamps(legs.ts),
        client_order_ids(cfg.strategy_id, cfg.symbol, legs.ts.tolist(), names),
        _mapped((legs.units > 0.0).view(np.int8), (Side.SELL, Side.BUY).__getitem__),
        _mapped(legs.code, lambda c: KINDS.get(c, OrderType.MARKET)),
        _exact_array(np.abs(legs.units[0::2])),
        level.tolist(),
        _exact_array(price),
        _exact_array(fee),
    )


def _mapped(codes: npt.NDArray[np.integer], value: Callable[[int], _T]) -> list[_T]:
    """``value`` of each code (small integers), called once per distinct code."""
    if codes.size == 0:
        return []
    low = int(codes.min())
    at = codes.astype(np.intp) - low
    table = np.empty(int(at.max()) + 1, dtype=object)
    for c in np.flatnonzero(np.bincount(at)).tolist():
        table[c] = value(c + low)
    mapped: list[_T] = table[at].tolist()
    return mapped


def _flows(cols: _Columns, floats: _Floats, buy: BoolArray, paper: bool, balance: Decimal) -> _Flows:
    """``book_fill``'s and ``_settle_exit``'s decimal operations on every leg (``buy``: per entry,
    whether it opens a long), from the cash ``balance`` before the first leg. Two of their operations
    are the identity on most values and are made only where they may not be (see ``_unchanged``):
    ``ZERO + fee`` and ``ZERO + gross``; a short's gross, ``-1 * (exit - entry) * quantity``, is
    ``(entry - exit) * quantity``, the cash change's own product, but for a zero's sign, which that
    ``ZERO +`` makes positive in both."""
    n, q = len(cols.price), cols.quantity
    p, f, px, fx = cols.price[0::2], cols.fee[0::2], cols.price[1::2], cols.fee[1::2]
    x, sell = n // 2, ~buy
    lx, sx, qx, pe = buy[:x], sell[:x], q[:x], p[:x]
    notional = q * p
    change = np.empty(n + 1, dtype=object)  # ``cash_change`` of each leg after the starting cash
    change[0] = balance
    entry, close = change[1::2], change[2::2]  # views
    entry[buy] = -notional[buy] - f[buy]  # a short's sale pays only its fee
    entry[sell] = -f[sell]
    gross = np.empty(x, dtype=object)
    gross[lx] = (px[lx] - pe[lx]) * qx[lx]
    gross[sx] = (pe[sx] - px[sx]) * qx[sx]
    close[lx] = qx[lx] * px[lx] - fx[lx]
    close[sx] = gross[sx] - fx[sx]
    cash = np.add.accumulate(change)[1:]
    value = cash.copy()  # an exit's equity is ``cash + ZERO``, a short's entry's ``cash + q * (p - p)``
    if paper:
        value[0::2][buy] = cash[0::2][buy] + notional[buy]
    margin = np.full(n, ZERO, dtype=object)
    margin[0::2][sell] = notional[sell]
    fees = f.copy()  # ``ZERO + fee``
    odd = ~_unchanged(floats.fee[0::2], floats.fee[0::2])
    fees[odd] = np.add(_ZERO, f[odd])
    closed = fees[:x] + fx
    fe, fx_, fq = floats.price[0::2][:x], floats.price[1::2], floats.quantity[:x]
    odd = ~_unchanged(np.abs(fx_ - fe) * fq, fe, fx_, fq)
    gross[odd] = np.add(_ZERO, gross[odd])
    pnl = gross - closed  # the gross less the commission
    fees[:x] = closed
    return _Flows(cash, value, margin, fees, pnl)


def _unchanged(value: FloatArray, *operands: FloatArray) -> BoolArray:
    """Where ``ZERO + d`` is ``d`` itself (its digits, exponent and sign): ``d`` is ``exact`` of one of
    ``operands``, or their difference or product to the context's 28 digits, and ``value`` its float.
    That holds where ``d`` is not zero (a zero's sign becomes positive) and its exponent is not positive
    (``ZERO``'s exponent 0 would be the sum's). A float's shortest repr below 1e15 has a point or a
    negative exponent, so its ``exact``, when not zero, has a negative exponent, and so do differences
    and products of such decimals: exact, to the smaller or the sum of exponents, or rounded to 28
    digits, which makes the exponent positive only from a magnitude of 1e28."""
    fits: BoolArray = (value != 0.0) & (np.abs(value) < 1e25)
    for operand in operands:
        fits &= np.abs(operand) < 1e15
    return fits


def _peak(peak: Decimal, flows: _Flows, cols: _Columns, buy: BoolArray, paper: bool) -> Decimal:
    """The account's peak after the legs: ``book_fill`` keeps the first equity greater than the peak
    so far, so the first of the greatest values (a later equal one is not greater), made as it makes
    that equity."""
    values = [peak, *flows.value.tolist()]
    j = values.index(max(values)) - 1  # max is the first of the greatest; index finds it again
    if j < 0:
        return peak
    cash: Decimal = flows.cash[j]
    if j % 2 or not paper:
        return cash + ZERO
    e = j // 2
    if buy[e]:
        made: Decimal = flows.value[j]
        return made
    price: Decimal = cols.price[j]
    quantity: Decimal = cols.quantity[e]
    return cash + quantity * (price - price)


def _trades(
    book: PaperBook,
    cfg: RunnerConfig,
    name: str,
    tids: list[str],
    cols: _Columns,
    flows: _Flows,
    buy: BoolArray,
    why: list[str | None],
    later: bool,
) -> list[Trade]:
    """Each entry's trade as its legs leave it: closed by its exit, the last one open without one.
    ``later``: every exit is in or after its entry's bar, so settled at the exit's time (the same
    datetime as the entry's in one bar: ``_stamps`` makes a time repeated by the leg before once)."""
    user, symbol, sid, e = cfg.user_id, cfg.symbol, cfg.strategy_id, len(tids)
    x = len(cols.at) // 2
    sides = np.asarray([TradeSide.SHORT, TradeSide.LONG], dtype=object)[buy.view(np.int8)].tolist()
    q, p, fees = cols.quantity.tolist(), cols.price[0::2].tolist(), flows.fees.tolist()
    t, tx, px = cols.at[0::2], cols.at[1::2], cols.price[1::2].tolist()
    settled = tx if later else [b if a < b else a for a, b in zip(t, tx, strict=False)]
    trades = list(map(
        Trade, repeat(user, x), repeat(symbol), sides, repeat(name), q, t, repeat(None), repeat(None),
        repeat(False), repeat(0), repeat(sid), tids, repeat(TradeStatus.CLOSED), p, px, px,
        flows.pnl.tolist(), fees, why, tx, tx, t, settled,
    ))  # fmt: skip
    if e > x:  # open: the trade as its entry leaves it
        a = t[-1]
        trade = Trade(
            user, symbol, sides[-1], name, q[-1], a, None, None, False, 0, sid, tids[-1], TradeStatus.ACTIVE,
            p[-1], None, p[-1], ZERO, fees[-1], None, a, None, a, a,
        )  # fmt: skip
        trades.append(trade)
        book._open_trades[trade.id] = trade
    return trades


def _orders(
    cfg: RunnerConfig, broker: str, ids: list[str], cols: _Columns, code: npt.NDArray[np.int64]
) -> tuple[list[Order], list[str], list[str | None]]:
    """Each leg's order as its fill leaves it (an entry's, then its trade's exit's, of the entry's
    quantity), in leg order; their ids; and each leg's exit reason (None for an entry)."""
    n = len(cols.at)
    entries = (n + 1) // 2
    quantity: list[Decimal | None] = [None] * n
    entered = cols.quantity.tolist()
    quantity[0::2], quantity[1::2] = entered, entered[: n // 2]
    trade: list[str | None] = [None] * n
    trade[0::2] = tids = ids[0::3]
    trade[1::2] = tids[: n // 2]
    order_ids = ids.copy()
    del order_ids[0::3]
    purpose = [OrderPurpose.ENTRY, OrderPurpose.EXIT] * entries
    reasons: list[str | None] = _mapped(code, lambda c: EXIT_REASONS[KINDS.get(c, OrderType.MARKET)])
    reasons[0::2] = [None] * entries
    price = cols.price.tolist()
    orders = list(map(
        Order, repeat(cfg.user_id, n), cols.client, repeat(broker), repeat(cfg.symbol), cols.side,
        cols.kind, quantity, cols.level, cols.at, purpose, trade, order_ids, repeat(OrderStatus.FILLED),
        quantity, price, cols.fee.tolist(), reasons, cols.at,
    ))  # fmt: skip
    return orders, order_ids, reasons


def _hold(
    book: PaperBook,
    key: tuple[str, str],
    ids: tuple[list[str], list[str]],
    clients: list[str],
    orders: list[Order],
    trades: list[Trade],
) -> None:
    """The new records held by ``book`` and named in its changes, in the order the one pass adds them
    (``ids``: the orders', the trades')."""
    changes, (order_ids, trade_ids) = book.changes, ids
    book.orders.update(zip(order_ids, orders, strict=True))
    book.by_client.update(zip(zip(repeat(key[0]), clients, strict=False), order_ids, strict=True))
    book.trades.update(zip(trade_ids, trades, strict=True))
    changes.orders.update(order_ids)
    changes.trades.update(trade_ids)
    changes.created.update(order_ids, trade_ids)
    changes.fills.extend(orders)
    changes.closed.extend(trade_ids[: len(orders) // 2])
    changes.accounts.add(key)
