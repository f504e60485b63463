"""A replay's legs booked as columns, its records made when read: the ledger :func:`book_replay` leaves
(every order, trade, balance, peak, id and change, decimals to the digit), deferred.

Booking decides, for all legs at once, what the one pass decides leg by leg: that a leg fills in its bar
at the runner's expected price (no drift to tell the runner), that it opens the sleeve's trade when
none is open or closes all of it (the opposite side, the entry's quantity), that its client order id
is new, and that an entry's cost fits in the cash before it. The cash is the running sum of each
fill's cash change; the decimal ledger sums exact decimals (to 28 digits), the columns sum the same
floats, and a float sum of n terms is within ``n * 2**-53`` of the running magnitudes of the exact one,
so an entry is booked here only when its cost is below the float balance by more than that bound:
where the bound cannot prove the decision, the decimals decide.

The legs from the first one this cannot prove on (a refused entry, a partial exit or addition, a fill
that differs from the runner's expectation: lots and ticks rounding it, a repeated client order id, a
refusal callback, or another open position of the user) go through :func:`book_replay`, after the
legs before them are made records in the book. So refusals and what follows them are its own.

``ReplayLedger.records`` makes the records (:mod:`pipelines.trading.replay_records`): each leg's order,
the trades, the account's cash and peak and the changes, into the book, with the decimal operations
of the one pass's booking (``book_fill``, ``PaperBook._settle_exit``) in the same order, and the ids
drawn at booking in the one pass's order.
The book holds the booked legs once ``records`` has run; nothing else may draw ids from it or place
on it before that.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import repeat
from operator import call

import numpy as np
import numpy.typing as npt

from pipelines.trading.book import PaperBook
from pipelines.trading.execution import Refusal
from pipelines.trading.paper import PaperBroker
from pipelines.trading.replay import ENTER, KINDS, LEG_NAMES, ReplayLegs, collector_paused
from pipelines.trading.replay_book import Booked, _alone, book_replay, priced_legs
from pipelines.trading.replay_records import make_records
from pipelines.trading.reserve import quote_asset
from pipelines.trading.runner import RunnerConfig, StrategyRunner, client_order_ids

__all__ = ["ReplayLedger", "book_columnar"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_U = 2.0**-53  # a float operation's relative rounding error, at most
_SLACK = 16.0  # operations per term and the decimals' own 28-digit rounding, generously


@dataclass
class ReplayLedger:
    """The legs of a replay booked as columns (``legs``: those booked here, the replay's first ones;
    ``price`` and ``fee``: their fills' floats, whose decimals the records hold) and, in ``rest``, the
    later legs :func:`book_replay` booked (already records in the book)."""

    book: PaperBook
    config: RunnerConfig
    broker: str
    legs: ReplayLegs
    price: FloatArray
    fee: FloatArray
    ids: list[str]
    rest: Booked | None = None
    _made: Booked | None = field(default=None, repr=False)

    def __len__(self) -> int:
        """How many legs were booked as columns."""
        return len(self.legs)

    def records(self) -> Booked:
        """The booked legs' records made into the book (once): per leg of the whole replay, whether it
        filled, the cash after it and the short's margin after it."""
        if self._made is None:
            with collector_paused():
                self._made = make_records(
                    self.book, self.config, self.broker, self.legs, self.price, self.fee, self.ids
                )
        if self.rest is None:
            return self._made
        made, rest = self._made, self.rest
        return Booked(
            made.filled + rest.filled, made.cash + rest.cash, made.margin + rest.margin, rest.per_leg
        )


def book_columnar(
    broker: PaperBroker, runner: StrategyRunner, legs: ReplayLegs, *, refuse: Refusal | None = None
) -> ReplayLedger:
    """Book ``legs`` (``runner``'s) on ``broker``'s book as :func:`book_replay` would, the legs it can
    prove as columns (their records made by ``ReplayLedger.records``), the rest through it."""
    book, cfg = broker.book, runner.config
    with collector_paused():
        n, price, fee = (
            (0, legs.price[:0], legs.price[:0]) if refuse is not None else _columns(book, cfg, legs)
        )
        enters = int(np.count_nonzero(legs.code[:n] == ENTER))
        new_id = book.new_id
        ids = list(map(call, repeat(new_id, n + enters)))  # a trade's, its entry's, its exit's
    ledger = ReplayLedger(book, cfg, broker.name, _part(legs, 0, n), price[:n], fee[:n], ids)
    if n < len(legs):
        ledger.records()
        ledger.rest = book_replay(broker, runner, _part(legs, n, len(legs)), refuse=refuse)
    return ledger


def _part(legs: ReplayLegs, start: int, stop: int) -> ReplayLegs:
    cut = slice(start, stop)
    arrays = ("ts", "code", "units", "price", "open", "high", "low", "close")
    return dataclasses.replace(legs, **{a: getattr(legs, a)[cut] for a in arrays})


def _columns(book: PaperBook, cfg: RunnerConfig, legs: ReplayLegs) -> tuple[int, FloatArray, FloatArray]:
    """How many of the first legs the columns can book, and every leg's fill price and fee."""
    costs, code, units = book.costs, legs.code, legs.units
    qf = np.abs(units)
    kinds = np.isin(code, list(KINDS))
    lf = np.where(kinds, legs.price, np.nan)
    price, fee, raw, drift = priced_legs(legs, qf, lf, costs, float(cfg.backtest.slippage))
    asset = quote_asset(cfg.symbol)
    if costs.lot_size > 0 or costs.tick_size > 0 or len(legs) == 0:
        return 0, price, fee  # rounded quantities and levels: fills the runner is told of, leg by leg
    if book.sleeve_trade(cfg.user_id, cfg.strategy_id, cfg.symbol) or not _alone(
        book, cfg.user_id, asset, None
    ):
        return 0, price, fee
    enter = code == ENTER
    step = np.where(enter, 1, -1)
    held = np.cumsum(step) - step  # trades open before each leg, while every leg before it is booked
    last = np.maximum.accumulate(np.where(enter, np.arange(len(legs)), -1))
    e = np.maximum(last, 0)  # each leg's trade's entry
    closes = (code >= 0) & (held == 1) & (last >= 0) & (units * units[e] < 0.0) & (qf == qf[e])
    good = np.where(enter, held == 0, closes) & ~np.isnan(raw) & ~drift & (qf > 0.0)
    good &= ~kinds | (legs.price > 0.0)
    good &= _new_clients(book, cfg, legs)
    account = book.accounts.get((cfg.user_id, asset))
    balance = book.initial_balance if account is None else account.balance
    good &= ~enter | _covered(float(balance), qf, price, fee, enter, units[e] > 0.0, price[e])
    bad = np.flatnonzero(~good)
    return (int(bad[0]) if bad.size else len(legs)), price, fee


def _new_clients(book: PaperBook, cfg: RunnerConfig, legs: ReplayLegs) -> BoolArray:
    """Whether each leg's client order id is the first of its bar and leg name (and, when the book
    holds orders of the user, not one of theirs)."""
    order = np.lexsort((legs.code, legs.ts))
    ts, code = legs.ts[order], legs.code[order]
    repeated = np.zeros(len(legs), dtype=np.bool_)
    repeated[order[1:]] = (ts[1:] == ts[:-1]) & (code[1:] == code[:-1])
    if any(user == cfg.user_id for user, _ in book.by_client):
        names = [LEG_NAMES[c] for c in legs.code.tolist()]
        clients = client_order_ids(cfg.strategy_id, cfg.symbol, legs.ts.tolist(), names)
        repeated |= np.fromiter(((cfg.user_id, c) in book.by_client for c in clients), np.bool_, len(legs))
    return ~repeated


def _covered(
    balance: float,
    qf: FloatArray,
    price: FloatArray,
    fee: FloatArray,
    enter: BoolArray,
    long: BoolArray,
    entry: FloatArray,
) -> BoolArray:
    """Whether each entry's cost is certainly within the cash before it, every leg before it booked:
    the float running cash less the bound on its distance from the exact decimal one."""
    notional = qf * price
    buy_flow = np.where(long, -notional, 0.0)  # a short's sale pays only its fee
    exit_flow = np.where(long, notional, (entry - price) * qf)  # a short's cover: its pnl
    change = np.where(enter, buy_flow, exit_flow) - fee
    size = notional + fee + np.where(enter | long, 0.0, entry * qf)
    after = balance + np.cumsum(change)
    before = np.concatenate(([balance], after[:-1]))
    sizes = np.concatenate(([0.0], np.cumsum(size)[:-1]))
    sums = np.concatenate(([0.0], np.cumsum(np.abs(after))[:-1]))
    bound = _SLACK * _U * (abs(balance) + sizes + sums)
    result: BoolArray = (notional + fee) * (1.0 + _SLACK * _U) < before - bound
    return result
