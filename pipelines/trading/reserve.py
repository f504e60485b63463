"""Cash the paper ledger holds back from new orders: the estimated cost of every open order that adds
to a position (a long's buy, a short's sale: entry or DCA) and the margin of every active short.

A user's free balance is the balance less what is held: an order is placed only when its own cost
fits in the free balance, so open limit and stop orders can never promise more cash than there is.
A short's sale brings in no spendable cash: its notional stays held as collateral while it is open
and is released at the close with the trade's pnl (see :func:`cash_change`). What is held is kept as
notionals (:class:`Held`), costed when read: an account carries the total of all its stored records,
so a balance check never reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from pipelines.trading.broker import OrderStatus, Side
from pipelines.trading.errors import InsufficientBalanceError
from pipelines.trading.fills import CostModel, Priced, priced
from pipelines.trading.records import ZERO, Account, Held, Order, OrderPurpose, Trade, TradeSide, TradeStatus

__all__ = [
    "NOTHING",
    "Holds",
    "cash_change",
    "check_funds",
    "held",
    "held_cost",
    "margin",
    "needs_funds",
    "order_cost",
    "order_hold",
    "order_notional",
    "quote_asset",
]

NOTHING = Held()


def quote_asset(symbol: str) -> str:
    """The currency a symbol is priced in: ``BTC/USDT`` -> USDT, a stock -> USD."""
    return symbol.partition("/")[2] or "USD"


def order_cost(costs: CostModel, side: Side, quantity: Decimal, price: Decimal) -> Decimal:
    """Notional after slippage plus commission of ``quantity`` at ``price``: what a buy pays, or the
    collateral a short's sale holds."""
    cost = priced(costs, side, float(price), quantity)
    return quantity * cost.price + cost.commission


def order_notional(order: Order, trade: Trade | None) -> Decimal:
    """The notional an entry or addition holds while open: at its price (a market order at its trade's
    last price, else entry price, else nothing); an exit holds nothing (a long's sale pays its own
    fee, a short's cover is its margin's)."""
    if order.purpose is OrderPurpose.EXIT:
        return ZERO
    price = order.price
    if price is None and trade is not None:
        price = trade.last_price or trade.entry_price
    return ZERO if price is None else order.quantity * price


def order_hold(order: Order, trade: Trade | None) -> Held:
    """What ``order`` holds now: its stored ``reserve`` (else its notional) while open, by side."""
    if order.status is not OrderStatus.OPEN or order.purpose is OrderPurpose.EXIT:
        return NOTHING
    notional = order.reserve if order.reserve is not None else order_notional(order, trade)
    return Held(buys=notional) if order.side is Side.BUY else Held(sells=notional)


def margin(trade: Trade) -> Decimal:
    """An active short's collateral: its entry notional (zero for anything else)."""
    if trade.side is not TradeSide.SHORT or trade.status is not TradeStatus.ACTIVE:
        return ZERO
    return trade.quantity * (trade.entry_price or ZERO)


def held(orders: Iterable[Order], trades: Mapping[str, Trade], user_id: str, asset: str) -> Held:
    """What ``user_id``'s open ``orders`` and open ``trades`` (by id; the orders' trades among them)
    hold in ``asset``."""
    buys = sells = short = ZERO
    for order in orders:
        if order.user_id == user_id and quote_asset(order.symbol) == asset:
            hold = order_hold(order, trades.get(order.trade_id or ""))
            buys, sells = buys + hold.buys, sells + hold.sells
    for trade in trades.values():
        if trade.user_id == user_id and trade.is_open and quote_asset(trade.symbol) == asset:
            short += margin(trade)
    return Held(buys, sells, short)


def held_cost(costs: CostModel, holds: Held) -> Decimal:
    """The cash ``holds`` keeps from new orders: the orders' notionals with their slippage and
    commission (an order's cost is linear in its notional), plus the margin."""
    total = holds.margin
    if holds.buys:
        total += order_cost(costs, Side.BUY, Decimal(1), holds.buys)
    if holds.sells:
        total += order_cost(costs, Side.SELL, Decimal(1), holds.sells)
    return total


def check_funds(
    costs: CostModel,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    adds: bool,
    asset: str,
    balance: Decimal,
    reserved: Decimal,
) -> None:
    """Refuse an order whose cost does not fit in the free balance (``balance`` less ``reserved``): an
    entry or addition (``adds``) or any buy needs its cost (a short's sale: its margin), an exit its fee."""
    if adds or side is Side.BUY:
        need = order_cost(costs, side, quantity, price)
    else:
        need = priced(costs, side, float(price), quantity).commission
    free = balance - reserved
    if need > free:
        raise InsufficientBalanceError(
            f"the order needs about {need:.2f} {asset}, the free paper balance is {free:.2f} "
            f"(balance {balance:.2f}, {reserved:.2f} held by open orders and short margin)"
        )


def needs_funds(order: Order, trade: Trade | None) -> bool:
    """Whether a fill of ``order`` needs its cost in the balance: a long's buy or a short's sale."""
    if trade is not None and trade.side is TradeSide.SHORT:
        return order.purpose is not OrderPurpose.EXIT
    return order.side is Side.BUY


def cash_change(side: Side, quantity: Decimal, cost: Priced, trade: Trade | None) -> Decimal:
    """The balance change of a fill: a long's buy pays and its sale brings in the notional, less the
    fee; a short's sale pays only the fee (its notional is held as margin, never spendable) and its
    cover books the pnl of ``quantity`` against the average entry, less the fee."""
    if trade is None or trade.side is not TradeSide.SHORT:
        flow = quantity * cost.price
        return (-flow if side is Side.BUY else flow) - cost.commission
    if side is Side.SELL:
        return -cost.commission
    entry = trade.entry_price or cost.price
    return (entry - cost.price) * quantity - cost.commission


Key = tuple[str, str]  # an account's: (user, quote currency)


class Holds:
    """What a book's records hold, against what they held when loaded from a store, whose accounts'
    ``held`` counts them: an account's total is its stored ``held``, less what its records here held
    loaded, plus what they hold now (no read of the records a book did not load)."""

    def __init__(self, orders: Mapping[str, Order], trades: Mapping[str, Trade]) -> None:
        self.orders, self.trades = orders, trades  # a book's open ones (and some no longer open)
        self.loaded: dict[Key, Held] = {}

    def _add(self, to: dict[Key, Held], user_id: str, symbol: str, hold: Held) -> None:
        if hold != NOTHING:
            key = (user_id, quote_asset(symbol))
            to[key] = to.get(key, NOTHING) + hold

    def load(
        self,
        order: Order | None,
        trade: Trade | None,
        orders: Mapping[str, Order],
        trades: Mapping[str, Trade],
    ) -> None:
        """Count a stored record a book loads, unless it holds it already (``orders``, ``trades``)."""
        if order is not None and order.id not in orders:
            of = trades.get(order.trade_id or "", trade)  # its trade: held already, or loaded with it
            self._add(self.loaded, order.user_id, order.symbol, order_hold(order, of))
        if trade is not None and trade.id not in trades:
            self._add(self.loaded, trade.user_id, trade.symbol, Held(margin=margin(trade)))

    def reserved(self, costs: CostModel, account: Account) -> Decimal:
        """Cash ``account``'s open entry/DCA orders and active shorts hold."""
        own = held(self.orders.values(), self.trades, *account.key)
        return held_cost(costs, account.held + own - self.loaded.get(account.key, NOTHING))

    def fold(
        self,
        created: Iterable[Order],
        trades: Mapping[str, Trade],
        account: Callable[[str, str], Account],
        changed: set[Key],
    ) -> None:
        """Before a store writes: fix the ``reserve`` of the ``created`` orders (their trades among
        ``trades``), and add to each ``account`` (its key to ``changed``) the change of what the open
        records hold since they were loaded (what they hold now is the new baseline)."""
        for order in created:
            if order.reserve is None:
                order.reserve = order_notional(order, trades.get(order.trade_id or ""))
        trades = self.trades
        now: dict[Key, Held] = {}
        for order in self.orders.values():
            self._add(now, order.user_id, order.symbol, order_hold(order, trades.get(order.trade_id or "")))
        for trade in trades.values():
            self._add(now, trade.user_id, trade.symbol, Held(margin=margin(trade)))
        for key in now.keys() | self.loaded.keys():
            change = now.get(key, NOTHING) - self.loaded.get(key, NOTHING)
            if change != NOTHING:
                found = account(*key)
                found.held += change
                changed.add(key)
        self.loaded = now
