"""Cash the paper ledger holds back from new orders: the estimated cost of every open order that adds
to a position (a long's buy, a short's sale: entry or DCA) and the margin of every active short.

A user's free balance is the balance less what is held: an order is placed only when its own cost
fits in the free balance, so open limit and stop orders can never promise more cash than there is.
A short's sale brings in no spendable cash: its notional stays held as collateral while it is open
and is released at the close with the trade's pnl (see :func:`cash_change`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from pipelines.trading.broker import OrderStatus, Side
from pipelines.trading.errors import InsufficientBalanceError
from pipelines.trading.fills import CostModel, Priced, priced
from pipelines.trading.records import ZERO, Order, OrderPurpose, Trade, TradeSide, TradeStatus

__all__ = [
    "cash_change",
    "check_funds",
    "held",
    "margin",
    "needs_funds",
    "order_cost",
    "order_hold",
    "quote_asset",
]


def quote_asset(symbol: str) -> str:
    """The currency a symbol is priced in: ``BTC/USDT`` -> USDT, a stock -> USD."""
    return symbol.partition("/")[2] or "USD"


def order_cost(costs: CostModel, side: Side, quantity: Decimal, price: Decimal) -> Decimal:
    """Notional after slippage plus commission of ``quantity`` at ``price``: what a buy pays, or the
    collateral a short's sale holds."""
    cost = priced(costs, side, float(price), quantity)
    return quantity * cost.price + cost.commission


def order_hold(costs: CostModel, order: Order, trade: Trade | None) -> Decimal:
    """What an open order holds: an entry or addition at its price (a market order at its trade's last
    price); an exit holds nothing (a long's sale pays its own fee, a short's cover is its margin's)."""
    if order.status is not OrderStatus.OPEN or order.purpose is OrderPurpose.EXIT:
        return ZERO
    price = order.price
    if price is None and trade is not None:
        price = trade.last_price or trade.entry_price
    if price is None:
        return ZERO
    return order_cost(costs, order.side, order.quantity, price)


def margin(trade: Trade) -> Decimal:
    """An active short's collateral: its entry notional (zero for anything else)."""
    if trade.side is not TradeSide.SHORT or trade.status is not TradeStatus.ACTIVE:
        return ZERO
    return trade.quantity * (trade.entry_price or ZERO)


def held(
    costs: CostModel, orders: Iterable[Order], trades: Mapping[str, Trade], user_id: str, asset: str
) -> Decimal:
    """The cash ``user_id``'s open ``orders`` and open ``trades`` (by id; the orders' trades among
    them) hold in ``asset``."""
    total = ZERO
    for order in orders:
        if order.user_id == user_id and quote_asset(order.symbol) == asset:
            total += order_hold(costs, order, trades.get(order.trade_id or ""))
    for trade in trades.values():
        if trade.user_id == user_id and trade.is_open and quote_asset(trade.symbol) == asset:
            total += margin(trade)
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
