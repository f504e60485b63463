"""The paper ledger's in-memory core: balances, orders, trades, DCA attempts and what a new bar does to
them. Used without a database by replays; a store loads a user's slice, applies, writes ``changes``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from pipelines.trading.broker import Fill, OrderStatus, OrderType, Side
from pipelines.trading.changes import Changes
from pipelines.trading.dca import DcaSettings, maybe_dca
from pipelines.trading.equity import Valuation
from pipelines.trading.errors import InsufficientBalanceError, RiskRuleError, TradingDisabledError
from pipelines.trading.fills import CostModel, Priced, exit_in_bar, fill_in_bar, priced
from pipelines.trading.records import (
    ZERO,
    Account,
    Bar,
    DcaAttempt,
    Order,
    OrderPurpose,
    Trade,
    TradeStatus,
    exact,
    new_id,
    round_quantity,
)
from pipelines.trading.reserve import Holds, cash_change, check_funds, needs_funds, quote_asset
from pipelines.trading.risk import Exposure, RiskLimits, check_order

__all__ = ["Changes", "PaperBook", "quote_asset"]

LimitsFor = Callable[[str], tuple[RiskLimits, DcaSettings]]


def _defaults(_user_id: str) -> tuple[RiskLimits, DcaSettings]:
    return RiskLimits(), DcaSettings()


class PaperBook:
    """Balances per (user, quote currency), orders, trades and attempts, all in memory."""

    def __init__(
        self,
        costs: CostModel,
        *,
        initial_balance: Decimal = Decimal(10000),
        limits_for: LimitsFor = _defaults,
        broker: str = "paper",
        ids: Callable[[], str] = new_id,
    ) -> None:
        self.costs = costs
        self.new_id = ids  # the new records' ids: uuids (stored), or cheaper ones for a replay's book
        self.initial_balance = initial_balance
        self.limits_for = limits_for
        self.broker = broker
        self.accounts: dict[tuple[str, str], Account] = {}
        self.orders: dict[str, Order] = {}
        self._open_orders: dict[str, Order] = {}  # the subset still open (a bar looks at these only)
        self._open_trades: dict[str, Trade] = {}
        self.by_client: dict[tuple[str, str], str] = {}
        self.trades: dict[str, Trade] = {}
        self.attempts: dict[str, list[DcaAttempt]] = {}
        self.realized_today: dict[str, Decimal] = {}  # per user, from trades closed before loading
        # Per (user, symbol): notional of open trades a store did not load (counted by the risk rules).
        self.notional_offset: dict[tuple[str, str], Decimal] = {}
        self.holds = Holds(self._open_orders, self._open_trades)  # against what they held loaded
        self.valuation = Valuation()  # the accounts' equity (a store's: with the trades it did not load)
        self.changes = Changes()

    # -- loading -------------------------------------------------------------------------------
    def add(self, *, order: Order | None = None, trade: Trade | None = None, stored: bool = True) -> None:
        """Hold an existing record (a store loading its slice; ``stored`` off: a new one); not a change."""
        if stored:
            self.holds.load(order, trade, self.orders, self.trades)
        if order is not None:
            self.orders[order.id] = order
            self.by_client[(order.user_id, order.client_order_id)] = order.id
            if order.status is OrderStatus.OPEN:
                self._open_orders[order.id] = order
        if trade is not None:
            if stored and trade.id not in self.trades:
                self.valuation.loaded(trade)
            self.trades[trade.id] = trade
            if trade.is_open:
                self._open_trades[trade.id] = trade

    def account(self, user_id: str, asset: str) -> Account:
        found = self.accounts.get((user_id, asset))
        if found is None:
            found = Account(user_id, asset, self.initial_balance, self.initial_balance)
            self.accounts[(user_id, asset)] = found
            self.changes.accounts.add((user_id, asset))
            self.changes.created_accounts.add((user_id, asset))
        return found

    def exposure(self, user_id: str, symbol: str) -> Exposure:
        """The risk rules' view from the records held (a store may hold only a user's open trades)."""
        notional = self.notional_offset.get((user_id, symbol), ZERO)
        for t in self.trades.values():
            if t.user_id == user_id and t.symbol == symbol and t.is_open:
                notional += t.quantity * (t.last_price or t.entry_price or ZERO)
        account = self.account(user_id, quote_asset(symbol))
        equity = self.valuation.equity(account.balance, self._open_trades.values(), *account.key)
        return Exposure(notional, self.realized_today.get(user_id, ZERO), equity, max(account.peak, equity))

    def mark_peak(self, account: Account) -> None:
        """Raise the account's peak to its equity now: its cash plus its positions, marked."""
        equity = self.valuation.equity(account.balance, self._open_trades.values(), *account.key)
        if equity > account.peak:
            account.peak = equity
            self.changes.accounts.add(account.key)

    # -- placing -------------------------------------------------------------------------------
    def find(self, user_id: str, client_order_id: str) -> Order | None:
        order_id = self.by_client.get((user_id, client_order_id))
        return None if order_id is None else self.orders[order_id]

    def check(
        self,
        user_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        *,
        opens: bool,
        adds: bool = False,
    ) -> None:
        """Refuse (raise) an order the risk rules or the free balance forbid; changes nothing. An order
        that ``opens`` or ``adds`` to a trade, or a buy, needs its cost free (see reserve.check_funds)."""
        limits, _ = self.limits_for(user_id)
        short = opens and side is Side.SELL
        check_order(limits, self.exposure(user_id, symbol), notional=quantity * price, opens_short=short)
        asset = quote_asset(symbol)
        balance, reserved = self.account(user_id, asset).balance, self.reserved(user_id, asset)
        check_funds(self.costs, side, quantity, price, opens or adds, asset, balance, reserved)

    def reserved(self, user_id: str, asset: str) -> Decimal:
        """Cash the user's open entry/DCA orders and active shorts hold in ``asset`` (all stored)."""
        return self.holds.reserved(self.costs, self.account(user_id, asset))

    def fold_holds(self) -> None:
        """Before a store writes: what the records here hold now into their accounts' ``held``."""
        created = [self.orders[i] for i in self.changes.created if i in self.orders]
        self.holds.fold(created, self.trades, self.account, self.changes.accounts)

    def place(self, order: Order, trade: Trade | None = None) -> Order:
        """Hold a new order (and the trade it opens); a repeated client order id gives the first order."""
        existing = self.find(order.user_id, order.client_order_id)
        if existing is not None:
            return existing
        self.add(order=order, trade=trade, stored=False)
        self.changes.orders.add(order.id)
        self.changes.created.add(order.id)
        if trade is not None:
            self.changes.trades.add(trade.id)
            self.changes.created.add(trade.id)
        return order

    def cancel(self, order: Order, reason: str, at: dt.datetime) -> None:
        if order.status is OrderStatus.OPEN:
            order.status, order.reason, order.updated_at = OrderStatus.CANCELLED, reason, at
            self.changes.orders.add(order.id)

    # -- bars ----------------------------------------------------------------------------------
    def on_bar(self, symbol: str, bar: Bar) -> list[Fill]:
        """Apply one bar of ``symbol``: fill the open orders placed before it started, then check each
        active trade's stop-loss and take-profit, mark it to the close and place a due DCA order."""
        fills: list[Fill] = []
        fresh = {
            t.id: t
            for t in self._open_trades.values()
            if t.symbol == symbol and t.is_open and (t.settled_to is None or t.settled_to < bar.timestamp)
        }
        for order in [
            o for o in self._open_orders.values() if o.symbol == symbol and o.status is OrderStatus.OPEN
        ]:
            if order.created_at < bar.timestamp and (order.trade_id is None or order.trade_id in fresh):
                fill = self._try_fill(order, bar)
                if fill is not None:
                    fills.append(fill)
        for trade in fresh.values():
            if trade.status is TradeStatus.ACTIVE and trade.opened_at is not None:
                self._watch(trade, bar)
            trade.settled_to = bar.timestamp
            self.changes.trades.add(trade.id)
        for key in {(t.user_id, quote_asset(symbol)) for t in fresh.values()}:
            self.mark_peak(self.account(*key))
        self.prune()
        return fills

    def prune(self) -> None:
        """Forget, as open, the orders and trades that are no longer open."""
        for order_id in [k for k, o in self._open_orders.items() if o.status is not OrderStatus.OPEN]:
            del self._open_orders[order_id]
        for trade_id in [k for k, t in self._open_trades.items() if not t.is_open]:
            del self._open_trades[trade_id]

    def sleeve_trade(self, user_id: str, strategy_id: str, symbol: str) -> Trade | None:
        """The open trade a strategy holds in ``symbol`` (its runner keeps one position per symbol)."""
        for trade in self._open_trades.values():
            key = (trade.strategy_id, trade.symbol, trade.user_id)
            if key == (strategy_id, symbol, user_id) and trade.is_open:
                return trade
        return None

    def execute(self, order: Order, trade: Trade | None, bar: Bar) -> Order:
        """Place ``order`` (and the trade it opens) and fill it in ``bar`` now: a leg planned at that
        bar's open fills there (a market order at the open, a stop or limit where the bar reaches its
        price), not at the next bar's. A repeated client order id gives the first order, untouched."""
        placed = self.place(order, trade)
        if placed is not order:
            return placed
        self._fill(order, bar)
        held = self.trades.get(order.trade_id) if order.trade_id is not None else None
        if held is not None and (held.settled_to is None or held.settled_to < bar.timestamp):
            held.settled_to = bar.timestamp
        if order.status is not OrderStatus.OPEN:
            self._open_orders.pop(order.id, None)
        if held is not None and not held.is_open:
            self._open_trades.pop(held.id, None)
        return order

    def open_orders(self, trade_id: str) -> list[Order]:
        return [
            o for o in self._open_orders.values() if o.trade_id == trade_id and o.status is OrderStatus.OPEN
        ]

    def _try_fill(self, order: Order, bar: Bar) -> Fill | None:
        cost = self._fill(order, bar)
        if cost is None:
            return None
        o = order
        return Fill(o.id, o.client_order_id, o.symbol, o.side, o.quantity, *cost, bar.timestamp)

    def _fill(self, order: Order, bar: Bar) -> Priced | None:
        """Fill ``order`` in ``bar`` when the bar reaches it and the balance allows: the order, its
        trade and the cash booked; the fill's price and fee (None: not filled, or rejected)."""
        cost = fill_in_bar(self.costs, order, bar)
        if cost is None:
            return None
        trade = self.trades.get(order.trade_id) if order.trade_id is not None else None
        account = self.account(order.user_id, quote_asset(order.symbol))
        if needs_funds(order, trade) and order.quantity * cost.price + cost.commission > account.balance:
            self._reject(order, trade, "insufficient balance", bar.timestamp)
            return None
        order.status, order.filled_quantity = OrderStatus.FILLED, order.quantity
        order.average_price, order.commission, order.updated_at = cost.price, cost.commission, bar.timestamp
        self.changes.orders.add(order.id)
        self.changes.fills.append(order)
        self._book_cash(account, order.side, order.quantity, cost, trade)
        if trade is not None:
            self._apply(trade, order, cost, bar.timestamp)
        self.mark_peak(account)
        return cost

    def _reject(self, order: Order, trade: Trade | None, reason: str, at: dt.datetime) -> None:
        order.status, order.reason, order.updated_at = OrderStatus.REJECTED, reason, at
        self.changes.orders.add(order.id)
        if trade is None:
            return
        if order.purpose is OrderPurpose.ENTRY:
            trade.status, trade.close_reason, trade.updated_at = TradeStatus.CANCELLED, reason, at
            self.changes.trades.add(trade.id)
        elif order.purpose is OrderPurpose.DCA:
            self._attempt(trade, None, order.quantity, at, reason)

    def _book_cash(
        self, account: Account, side: Side, quantity: Decimal, cost: Priced, trade: Trade | None
    ) -> None:
        account.balance += cash_change(side, quantity, cost, trade)
        self.changes.accounts.add(account.key)

    def _apply(self, trade: Trade, order: Order, cost: Priced, at: dt.datetime) -> None:
        trade.commission += cost.commission
        trade.updated_at = at
        self.changes.trades.add(trade.id)
        if order.purpose is OrderPurpose.ENTRY:
            trade.status, trade.entry_price, trade.quantity = TradeStatus.ACTIVE, cost.price, order.quantity
            trade.opened_at, trade.last_price = at, cost.price
        elif order.purpose is OrderPurpose.DCA:
            held, avg = float(trade.quantity), float(trade.entry_price or cost.price)
            added = float(order.quantity)
            trade.entry_price = exact((held * avg + added * float(cost.price)) / (held + added))
            trade.quantity += order.quantity
            self._attempt(trade, cost.price, order.quantity, at, None)
        elif order.quantity < trade.quantity:  # a part of the trade: realized now, the rest stays open
            entry = trade.entry_price or cost.price
            trade.realized_pnl += trade.sign * (cost.price - entry) * order.quantity
            trade.quantity -= order.quantity
        else:
            self._settle_exit(trade, cost, order.reason or "exit", at)

    def _settle_exit(self, trade: Trade, cost: Priced, reason: str, at: dt.datetime) -> None:
        entry = trade.entry_price or cost.price
        gross = trade.realized_pnl + trade.sign * (cost.price - entry) * trade.quantity  # + parts sold before
        trade.realized_pnl = gross - trade.commission
        trade.status, trade.exit_price, trade.close_reason = TradeStatus.CLOSED, cost.price, reason
        trade.closed_at = trade.updated_at = at
        trade.last_price = cost.price
        self.realized_today[trade.user_id] = self.realized_today.get(trade.user_id, ZERO) + trade.realized_pnl
        self.changes.trades.add(trade.id)
        self.changes.closed.append(trade.id)

    def _watch(self, trade: Trade, bar: Bar) -> None:
        hit = exit_in_bar(trade, bar)
        if hit is not None:
            self.close(trade, hit[1], hit[0], bar.timestamp)
            return
        trade.last_price, trade.updated_at = exact(bar.close), bar.timestamp
        self.changes.trades.add(trade.id)
        maybe_dca(self, trade, trade.last_price, bar.timestamp)

    # -- closing and DCA -----------------------------------------------------------------------
    def close(self, trade: Trade, raw: float, reason: str, at: dt.datetime) -> None:
        """Close an active trade at ``raw`` (before slippage) now, recorded as a filled exit order;
        cancel its open orders."""
        for order in self.open_orders(trade.id):
            self.cancel(order, f"trade closed: {reason}", at)
        cost = priced(self.costs, trade.side.exit, raw, trade.quantity)
        exit_order = Order(
            trade.user_id,
            f"exit-{trade.id}",
            self.broker,
            trade.symbol,
            trade.side.exit,
            OrderType.MARKET,
            trade.quantity,
            None,
            at,
            id=self.new_id(),
            purpose=OrderPurpose.EXIT,
            trade_id=trade.id,
            status=OrderStatus.FILLED,
            filled_quantity=trade.quantity,
            average_price=cost.price,
            commission=cost.commission,
            reason=reason,
            updated_at=at,
        )
        self.place(exit_order)
        self.changes.fills.append(exit_order)
        trade.commission += cost.commission
        account = self.account(trade.user_id, quote_asset(trade.symbol))
        self._book_cash(account, trade.side.exit, trade.quantity, cost, trade)
        self._settle_exit(trade, cost, reason, at)
        self.mark_peak(account)

    def attempts_of(self, trade_id: str) -> list[DcaAttempt]:
        return self.attempts.setdefault(trade_id, [])

    def _attempt(
        self, trade: Trade, price: Decimal | None, volume: Decimal, at: dt.datetime, reason: str | None
    ) -> DcaAttempt:
        made = self.attempts_of(trade.id)
        attempt = DcaAttempt(trade.id, len(made) + 1, price, volume, reason is None, at, reason)
        made.append(attempt)
        self.changes.attempts.append(attempt)
        return attempt

    def dca_order(
        self,
        trade: Trade,
        quantity: Decimal,
        price: Decimal,
        at: dt.datetime,
        client_id: str,
        *,
        refusals: list[Exception] | None = None,
    ) -> Order | DcaAttempt:
        """A DCA market order of ``quantity`` for the next bar (``price``: the latest, for the checks),
        or the failed attempt when the balance or a risk rule forbids it (recorded with the reason;
        the refusal itself appended to ``refusals`` when given)."""
        units = round_quantity(quantity, self.costs.lot_size)
        try:
            if units <= 0:
                raise InsufficientBalanceError("the volume is below one lot")
            self.check(trade.user_id, trade.symbol, trade.side.entry, units, price, opens=False, adds=True)
        except (InsufficientBalanceError, RiskRuleError, TradingDisabledError) as exc:
            if refusals is not None:
                refusals.append(exc)
            rule = getattr(exc, "rule", None)
            return self._attempt(trade, price, units, at, f"{rule}: {exc}" if rule else str(exc))
        order = Order(
            trade.user_id,
            client_id,
            self.broker,
            trade.symbol,
            trade.side.entry,
            OrderType.MARKET,
            units,
            None,
            at,
            purpose=OrderPurpose.DCA,
            trade_id=trade.id,
            id=self.new_id(),
        )
        return self.place(order)
