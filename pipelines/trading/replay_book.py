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
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from pipelines.backtest import _kernel as k
from pipelines.trading.book import PaperBook
from pipelines.trading.broker import NO_POSITION, OrderStatus, OrderType, Side
from pipelines.trading.equity import position_value
from pipelines.trading.errors import InsufficientBalanceError, RiskRuleError, TradingDisabledError
from pipelines.trading.execution import BLOCKED, Refusal, place_legs, rejected
from pipelines.trading.fills import Priced
from pipelines.trading.paper import EXIT_REASONS, PaperBroker, state_of
from pipelines.trading.records import (
    ZERO,
    Bar,
    Order,
    OrderPurpose,
    Trade,
    TradeSide,
    TradeStatus,
    round_price,
    round_quantity,
)
from pipelines.trading.replay import ENTER, KINDS, LEG_NAMES, ReplayLegs
from pipelines.trading.reserve import cash_change, margin, quote_asset
from pipelines.trading.runner import StrategyRunner, client_order_id

__all__ = ["Booked", "book_replay"]

FloatArray = npt.NDArray[np.float64]
_NAN = float("nan")


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
    quantity = [Decimal(r) for r in map(repr, absolute.tolist())]  # ``request_for``'s quantity
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
    drift = (price != expected) | (qf != absolute)
    cost = list(map(Priced, map(Decimal, map(repr, price.tolist())), map(Decimal, map(repr, fee.tolist()))))
    return _Fills(quantity, level, cost, (~np.isnan(raw)).tolist(), drift.tolist())


def _stamps(ts: npt.NDArray[np.int64]) -> list[dt.datetime]:
    """The legs' bar times as ``book_bar`` gives them: UTC datetimes to the microsecond."""
    return [d.replace(tzinfo=dt.UTC) for d in (ts // 1000).astype("datetime64[us]").tolist()]


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
    each filled in its bar, and confirm them with ``runner`` as ``place_legs`` bar by bar would.

    Long because it is the one loop per leg that replaces the per-leg calls: split, each leg would pay
    the calls this path exists to avoid."""
    book, cfg = broker.book, runner.config
    user, symbol, sid = cfg.user_id, cfg.symbol, cfg.strategy_id
    asset = quote_asset(symbol)
    fills = _fills(book, legs, float(cfg.backtest.slippage))
    stamps = _stamps(legs.ts)
    codes, units, tss = legs.code.tolist(), legs.units.tolist(), legs.ts.tolist()
    new_id, by_client, changes = book.new_id, book.by_client, book.changes
    sleeve = book.sleeve_trade(user, sid, symbol)
    fast = _alone(book, user, asset, sleeve)
    account = book.accounts.get((user, asset))
    blocked, per_leg = -1, 0
    filled: list[bool] = []
    cash: list[Decimal] = []
    margins: list[Decimal] = []
    for j, code in enumerate(codes):
        at, q, cost = stamps[j], fills.quantity[j], fills.cost[j]
        client = client_order_id(sid, symbol, tss[j], LEG_NAMES[code])
        side = Side.BUY if units[j] > 0.0 else Side.SELL
        enter = code == ENTER
        ok = fast and fills.reached[j] and q > 0 and (user, client) not in by_client
        ok = ok and (sleeve is None if enter else sleeve is not None)
        if ok and not (enter and tss[j] == blocked):
            if account is None:
                account = book.account(user, asset)
            trade = sleeve
            purpose, reason, exits = OrderPurpose.ENTRY, None, False
            if trade is not None:
                exits = side is trade.side.exit
                purpose = OrderPurpose.EXIT if exits else OrderPurpose.DCA
                reason = EXIT_REASONS[KINDS.get(code, OrderType.MARKET)] if exits else None
                ok = not exits or q <= trade.quantity
            level = fills.level[j]
            ok = ok and (level is None or level > 0)
            short = (trade is None and side is Side.SELL) or (
                trade is not None and trade.side is TradeSide.SHORT
            )
            needs = (not exits) if short else side is Side.BUY
            ok = ok and not (needs and q * cost.price + cost.commission > account.balance)
        if not ok or (enter and tss[j] == blocked):
            per_leg += 1
            planned = legs.planned(j)
            if enter and tss[j] == blocked:
                state = rejected(planned.request, BLOCKED)
            else:
                bar = Bar(
                    at, float(legs.open[j]), float(legs.high[j]), float(legs.low[j]), float(legs.close[j])
                )
                [(_, state)] = place_legs(broker, [planned], bar, refuse=refuse)
            if not enter and state.status is OrderStatus.REJECTED and state.reason != NO_POSITION:
                blocked = tss[j]
            runner.confirm(planned, state)
            sleeve = book.sleeve_trade(user, sid, symbol)
            fast = _alone(book, user, asset, sleeve)
            account = book.accounts.get((user, asset))
            filled.append(state.status is OrderStatus.FILLED)
            cash.append(book.initial_balance if account is None else account.balance)
            margins.append(_margin(sleeve))
            continue
        assert account is not None
        if enter and refuse is not None:
            planned = legs.planned(j)
            request = planned.request
            try:
                refuse(request)
            except (InsufficientBalanceError, RiskRuleError, TradingDisabledError) as exc:
                runner.confirm(planned, rejected(request, str(exc)))
                filled.append(False)
                cash.append(account.balance)
                margins.append(_margin(sleeve))
                continue
        if trade is None:
            trade = Trade(
                user,
                symbol,
                TradeSide.LONG if side is Side.BUY else TradeSide.SHORT,
                broker.name,
                q,
                at,
                strategy_id=sid,
                id=new_id(),
            )
        order = Order(
            user,
            client,
            broker.name,
            symbol,
            side,
            KINDS.get(code, OrderType.MARKET),
            q,
            fills.level[j],
            at,
            purpose,
            trade.id,
            new_id(),
            OrderStatus.FILLED,
            q,
            cost.price,
            cost.commission,
            reason,
            at,
        )
        book.add(order=order, trade=trade if enter else None, stored=False)
        changes.orders.add(order.id)
        changes.created.add(order.id)
        if enter:
            changes.trades.add(trade.id)
            changes.created.add(trade.id)
        changes.fills.append(order)
        account.balance += cash_change(side, q, cost, trade)
        changes.accounts.add(account.key)
        book._apply(trade, order, cost, at)
        equity = account.balance + position_value(trade)  # ``mark_peak``: the sleeve is all it holds
        if equity > account.peak:
            account.peak = equity
        if trade.settled_to is None or trade.settled_to < at:
            trade.settled_to = at
        sleeve = trade if trade.is_open else None
        if sleeve is None:
            book._open_trades.pop(trade.id, None)
        if fills.drift[j]:
            runner.confirm(legs.planned(j), state_of(order))
        filled.append(True)
        cash.append(account.balance)
        margins.append(_margin(sleeve))
    return Booked(filled, cash, margins, per_leg)


def _margin(sleeve: Trade | None) -> Decimal:
    return ZERO if sleeve is None else margin(sleeve)
