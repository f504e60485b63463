"""A replay's legs booked on a paper book in one pass: the ledger that submitting each leg through
:func:`~pipelines.trading.execution.place_legs` (``PaperBroker.submit_at``) in its bar would leave,
record for record (the same ids in the same order, fills, exact decimals, balances, peaks, changes),
and the same answers handed to the runner's ``confirm``.

The fill prices and fees of all legs are computed at once in float arrays (the cost model's own
arithmetic, elementwise: the same floats) and turned into exact decimals in bulk; the loop then books
each leg with the ledger's own decimal arithmetic in the ledger's order, building one order record
per leg and one trade record per trade, and no request, fill or state objects. The account's equity
after a fill is its cash plus the sleeve's position alone, which is what the ledger sums while the
book holds no other open trade of the user in that currency and values no stored one.

A leg this path cannot book so goes through ``place_legs`` itself at that point of the sequence, the
book being up to date after every leg: a leg with no open trade to act on, one its bar's cash does not
cover, a stop or limit its bar does not reach, a repeated client order id, a quantity or level the lot
or tick rounds away, or any leg while the book holds other open positions of the user. So refusals,
rejections and everything after them are the per-leg path's own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from pipelines.backtest import _kernel as k
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import NO_POSITION, OrderStatus, OrderType, Side
from pipelines.trading.equity import position_value
from pipelines.trading.errors import InsufficientBalanceError, RiskRuleError, TradingDisabledError
from pipelines.trading.execution import BLOCKED, Refusal, place_legs, rejected
from pipelines.trading.fills import CostModel, Priced
from pipelines.trading.paper import EXIT_REASONS, PaperBroker, state_of
from pipelines.trading.records import (
    ZERO,
    Account,
    Bar,
    Order,
    OrderPurpose,
    Trade,
    TradeSide,
    TradeStatus,
    round_price,
    round_quantity,
)
from pipelines.trading.replay import ENTER, KINDS, LEG_NAMES, ReplayLegs, collector_paused
from pipelines.trading.reserve import cash_change, margin, quote_asset
from pipelines.trading.runner import RunnerConfig, StrategyRunner, client_order_id

__all__ = ["Booked", "book_fill", "book_replay", "open_trade", "priced_legs"]

_NAN = float("nan")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Booked:
    """Per leg: whether it filled, the account's cash after it and the margin the sleeve's open short
    holds after it (zero without one); ``per_leg``: how many legs went through ``place_legs``."""

    filled: list[bool]
    cash: list[Decimal]
    margin: list[Decimal]
    per_leg: int


class _Fills(NamedTuple):
    """Each leg's order quantity and level (None: a market order; a level <= 0: refused), its fill
    (NaN price: its bar does not reach it) and whether it is not the fill the runner expects."""

    quantity: list[Decimal]
    level: list[Decimal | None]
    cost: list[Priced]
    reached: list[bool]
    drift: list[bool]


def _fills(book: PaperBook, legs: ReplayLegs, expected_slippage: float) -> _Fills:
    """The cost model of ``fill_in_bar`` / ``priced`` and the runner's ``expected_price`` on all legs at
    once, in the same float operations; the decimals as ``order_records`` and ``priced`` make them."""
    costs, units = book.costs, legs.units
    absolute = np.abs(units)
    quantity = _exact(absolute)  # ``request_for``'s quantity
    qf = absolute
    if costs.lot_size > 0:
        quantity = [round_quantity(q, costs.lot_size) for q in quantity]
        qf = np.asarray([float(q) for q in quantity])
    level: list[Decimal | None] = [None] * len(legs)
    lf = np.full(len(legs), _NAN)
    for j in np.flatnonzero(np.isin(legs.code, list(KINDS))).tolist():
        asked = Decimal(repr(float(legs.price[j])))
        level[j] = round_price(asked, costs.tick_size) if asked > 0 else asked
        lf[j] = float(level[j] or 0)
    price, fee, raw, drift = priced_legs(legs, qf, lf, costs, expected_slippage)
    cost = list(map(Priced, _exact(price), _exact(fee)))
    return _Fills(quantity, level, cost, (~np.isnan(raw)).tolist(), drift.tolist())


def priced_legs(
    legs: ReplayLegs, qf: FloatArray, lf: FloatArray, costs: CostModel, expected_slippage: float
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Each leg's fill price and fee (``qf`` units, ``lf`` its level or NaN) as ``priced`` computes
    them, the price before slippage (NaN: its bar does not reach the level) and whether the fill is not
    the runner's expectation, in the cost model's float operations, elementwise."""
    units = legs.units
    buy = units > 0.0
    o, h, lo = legs.open, legs.high, legs.low
    with np.errstate(invalid="ignore"):
        limit = np.where(
            buy, np.where(lo <= lf, np.minimum(lf, o), _NAN), np.where(h >= lf, np.maximum(lf, o), _NAN)
        )
        stop = np.where(
            buy, np.where(h >= lf, np.maximum(lf, o), _NAN), np.where(lo <= lf, np.minimum(lf, o), _NAN)
        )
    raw = np.where(legs.code == k.REASON_STOP, stop, np.where(legs.code == k.REASON_TAKE_PROFIT, limit, o))
    slip = costs.slippage
    price = np.where(buy, raw * (1.0 + slip), raw * (1.0 - slip))
    fee = np.abs(qf * price) * costs.commission
    expected = np.where(buy, legs.price * (1.0 + expected_slippage), legs.price * (1.0 - expected_slippage))
    drift = (price != expected) | (qf != np.abs(units))
    return price, fee, raw, drift


def _exact(values: FloatArray) -> list[Decimal]:
    """``exact`` of each value (the decimal of its shortest repr), all at once (see ``_exact_array``)."""
    exact: list[Decimal] = _exact_array(values).tolist()
    return exact


def _exact_array(values: FloatArray) -> npt.NDArray[np.object_]:
    """``exact`` of each value as an object array, all at once: Arrow's cast to text writes each float's
    shortest round-trip digits, the digits ``repr`` writes, at about a quarter of ``repr``'s cost. It
    writes an integral value without ``repr``'s ``.0`` (a decimal of another exponent), so those and
    the non-finite ones go through ``repr``. Each value is parsed (a replay's fill prices and fees are
    nearly all distinct: finding the repeated ones costs more than it saves)."""
    import pyarrow as pa

    array = np.ascontiguousarray(values, dtype=np.float64)
    texts: list[str] = pa.array(array).cast(pa.string()).to_numpy(zero_copy_only=False).tolist()
    with np.errstate(invalid="ignore"):
        whole = ~np.isfinite(array) | (array == np.floor(array))
    for j in np.flatnonzero(whole).tolist():
        texts[j] = repr(float(array[j]))
    return np.fromiter(map(Decimal, texts), dtype=object, count=array.size)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _stamps(ts: npt.NDArray[np.int64]) -> list[dt.datetime]:
    """The legs' bar times as ``book_bar`` gives them: UTC datetimes to the microsecond, a time repeated
    by the leg before made once (a reversal's two legs; legs are in bar order, so no sort is needed to
    find them)."""
    micros = ts // 1000
    first = np.ones(micros.size, dtype=np.bool_)
    np.not_equal(micros[1:], micros[:-1], out=first[1:])
    distinct = micros[first]
    made = _datetimes(distinct)
    if distinct.size == micros.size:
        return made
    return list(map(made.__getitem__, (np.cumsum(first) - 1).tolist()))


def _datetimes(micros: npt.NDArray[np.int64]) -> list[dt.datetime]:
    """``_EPOCH + timedelta(microseconds=m)`` of each ``m`` (from nanoseconds in an int64: years 1677
    to 2262, all within the datetime's). The fields are computed on the whole array (the date by the
    proleptic Gregorian calendar's civil-from-days arithmetic) and each datetime is made from the 10
    bytes its pickle holds (year, month, day, hour, minute, second, microsecond; the constructor
    copies them), about a third of ``fromtimestamp``'s cost."""
    days, of_day = np.divmod(micros, 86_400_000_000)
    z = days + 719_468  # days from 0000-03-01
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    seconds, us = np.divmod(of_day, 1_000_000)
    state = np.empty((micros.size, 10), dtype=np.uint8)
    state[:, 0], state[:, 1], state[:, 2] = year >> 8, year & 255, month
    state[:, 3] = doy - (153 * mp + 2) // 5 + 1
    state[:, 4], state[:, 5], state[:, 6] = seconds // 3600, seconds // 60 % 60, seconds % 60
    state[:, 7], state[:, 8], state[:, 9] = us >> 16, (us >> 8) & 255, us & 255
    pickled = state.view("V10").ravel().tolist()
    return list(map(dt.datetime, pickled, repeat(dt.UTC)))  # type: ignore[arg-type]  # the pickle form


def _alone(book: PaperBook, user_id: str, asset: str, sleeve: Trade | None) -> bool:
    """Whether the account's equity is its cash plus ``sleeve``'s position alone (see the module)."""
    if book.valuation.stored is not None:
        return False
    mine = (t for t in book._open_trades.values() if t.user_id == user_id and quote_asset(t.symbol) == asset)
    return all(t is sleeve for t in mine) and (sleeve is None or sleeve.status is TradeStatus.ACTIVE)


def book_replay(
    broker: PaperBroker, runner: StrategyRunner, legs: ReplayLegs, *, refuse: Refusal | None = None
) -> Booked:
    """Book ``legs`` (``runner``'s, from :func:`~pipelines.trading.replay.replay`) on ``broker``'s book,
    each filled in its bar, and confirm them with ``runner`` as ``place_legs`` bar by bar would. The
    cyclic collector is held off meanwhile (the records form no cycles; see ``collector_paused``)."""
    with collector_paused():
        return _book_legs(broker, runner, legs, refuse)


def _book_legs(
    broker: PaperBroker, runner: StrategyRunner, legs: ReplayLegs, refuse: Refusal | None
) -> Booked:
    """Long because it is the one loop per leg that replaces the per-leg calls: split, each leg would pay
    the calls this path exists to avoid (the enum members are bound to locals for the same reason)."""
    book, cfg, name = broker.book, runner.config, broker.name
    user, symbol, sid = cfg.user_id, cfg.symbol, cfg.strategy_id
    asset = quote_asset(symbol)
    quantity, level, costs, reached, drift = _fills(book, legs, float(cfg.backtest.slippage))
    stamps = _stamps(legs.ts)
    codes, units, tss = legs.code.tolist(), legs.units.tolist(), legs.ts.tolist()
    new_id, by_client = book.new_id, book.by_client
    buy, sell, long, short = Side.BUY, Side.SELL, TradeSide.LONG, TradeSide.SHORT
    entry, exit_, dca, market, done = (
        OrderPurpose.ENTRY, OrderPurpose.EXIT, OrderPurpose.DCA, OrderType.MARKET, OrderStatus.FILLED
    )  # fmt: skip
    sleeve = book.sleeve_trade(user, sid, symbol)
    fast = _alone(book, user, asset, sleeve)
    account = book.accounts.get((user, asset))
    blocked, per_leg = -1, 0
    filled: list[bool] = []
    cash: list[Decimal] = []
    margins: list[Decimal] = []
    for j, code in enumerate(codes):
        at, q, cost, t = stamps[j], quantity[j], costs[j], tss[j]
        client = client_order_id(sid, symbol, t, LEG_NAMES[code])
        side = buy if units[j] > 0.0 else sell
        enter, trade = code == ENTER, sleeve
        ok = fast and reached[j] and (trade is None) is enter and (user, client) not in by_client
        ok = ok and q > 0 and not (enter and t == blocked) and (level[j] is None or level[j] > 0)  # type: ignore[operator]
        purpose, reason, exits = entry, None, False
        if ok:
            balance = book.initial_balance if account is None else account.balance  # made at a fill
            if trade is not None:
                exits = side is (sell if trade.side is long else buy)
                purpose = exit_ if exits else dca
                reason = EXIT_REASONS[KINDS.get(code, market)] if exits else None
                ok = not exits or q <= trade.quantity
            shorts = side is sell if trade is None else trade.side is short
            needs = (not exits) if shorts else side is buy
            ok = ok and not (needs and q * cost.price + cost.commission > balance)
        if not ok:
            per_leg += 1
            planned = legs.planned(j)
            if enter and t == blocked:
                state = rejected(planned.request, BLOCKED)
            else:
                o, h, lo, c = (float(a[j]) for a in (legs.open, legs.high, legs.low, legs.close))
                [(_, state)] = place_legs(broker, [planned], Bar(at, o, h, lo, c), refuse=refuse)
            if not enter and state.status is OrderStatus.REJECTED and state.reason != NO_POSITION:
                blocked = t
            runner.confirm(planned, state)
            sleeve = book.sleeve_trade(user, sid, symbol)
            fast = _alone(book, user, asset, sleeve)
            account = book.accounts.get((user, asset))
            filled.append(state.status is done)
            cash.append(book.initial_balance if account is None else account.balance)
            margins.append(_margin(sleeve))
            continue
        if enter and refuse is not None and not _passes(runner, legs, j, refuse):
            account = book.accounts.get((user, asset))  # a refusal's check may have made it
            filled.append(False)
            cash.append(book.initial_balance if account is None else account.balance)
            margins.append(ZERO)
            continue
        if account is None:
            account = book.account(user, asset)
        oid = None
        if trade is None:  # the trade as the entry's fill leaves it, built once
            tid, oid = new_id(), new_id()
            trade = open_trade(book, cfg, name, side, q, at, tid, cost)
        order = Order(
            user, client, name, symbol, side, KINDS.get(code, market), q, level[j], at, purpose, trade.id,
            oid or new_id(), done, q, cost.price, cost.commission, reason, at,
        )  # fmt: skip
        sleeve = book_fill(book, account, trade, order, cost, enter)
        if drift[j]:
            runner.confirm(legs.planned(j), state_of(order))
        filled.append(True)
        cash.append(account.balance)
        margins.append(ZERO if sleeve is None or sleeve.side is long else margin(sleeve))
    return Booked(filled, cash, margins, per_leg)


def open_trade(
    book: PaperBook,
    cfg: RunnerConfig,
    name: str,
    side: Side,
    q: Decimal,
    at: dt.datetime,
    tid: str,
    cost: Priced,
) -> Trade:
    """The sleeve's trade as its entry's fill at ``cost`` leaves it, held by ``book`` (a new record)."""
    price, fee = cost
    trade = Trade(
        cfg.user_id, cfg.symbol, TradeSide.LONG if side is Side.BUY else TradeSide.SHORT, name, q, at,
        None, None, False, 0, cfg.strategy_id, tid, TradeStatus.ACTIVE, price, None, price, ZERO, ZERO + fee,
        None, at, None, at, at,
    )  # fmt: skip
    book.trades[tid] = book._open_trades[tid] = trade
    book.changes.trades.add(tid)
    book.changes.created.add(tid)
    return trade


def book_fill(
    book: PaperBook, account: Account, trade: Trade, order: Order, cost: Priced, enter: bool
) -> Trade | None:
    """``order`` (filled in its bar, on ``trade``) booked as ``PaperBook.execute`` books it: the order
    held, the cash, the trade's fill (an exit settles it), the peak from the cash plus the sleeve's
    position (``mark_peak``'s sum while it is all the account holds), the changes. Returns the sleeve's
    trade while it stays open."""
    at, changes = order.created_at, book.changes
    book.orders[order.id] = order
    book.by_client[(order.user_id, order.client_order_id)] = order.id
    changes.orders.add(order.id)
    changes.created.add(order.id)
    changes.fills.append(order)
    account.balance += cash_change(order.side, order.quantity, cost, trade)
    changes.accounts.add(account.key)
    if not enter:
        book._apply(trade, order, cost, at)
        if trade.settled_to is None or trade.settled_to < at:
            trade.settled_to = at
    equity = account.balance + position_value(trade)
    if equity > account.peak:
        account.peak = equity
    if trade.status is TradeStatus.ACTIVE:
        return trade
    del book._open_trades[trade.id]
    return None


def _passes(runner: StrategyRunner, legs: ReplayLegs, j: int, refuse: Refusal) -> bool:
    """Whether ``refuse`` lets entry ``j`` be placed; a refusal confirmed with ``runner`` as
    ``place_legs`` answers it (rejected, nothing placed)."""
    planned = legs.planned(j)
    request = planned.request
    try:
        refuse(request)
    except (InsufficientBalanceError, RiskRuleError, TradingDisabledError) as exc:
        runner.confirm(planned, rejected(request, str(exc)))
        return False
    return True


def _margin(sleeve: Trade | None) -> Decimal:
    return ZERO if sleeve is None else margin(sleeve)
