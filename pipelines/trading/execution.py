"""A strategy runner's legs on the paper broker: each leg tied to the sleeve's trade and filled in
the bar it was planned in, so runner plus paper broker is the backtest, fill for fill.

The runner holds one position per (strategy, symbol); the paper ledger holds it as one open trade
with that ``strategy_id``. An ``enter`` leg opens a new trade; ``resize``, ``exit``, ``stop`` and
``take_profit`` legs name the open one (a reduce or an exit closes a part or all of it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from pipelines.trading.broker import NO_POSITION, OrderRequest, OrderState, OrderStatus
from pipelines.trading.errors import InsufficientBalanceError, RiskRuleError, TradingDisabledError
from pipelines.trading.paper import PaperBroker
from pipelines.trading.records import Bar
from pipelines.trading.runner import PlannedOrder
from pipelines.trading.window import Bar as RunnerBar

__all__ = ["BLOCKED", "Refusal", "book_bar", "place_legs", "rejected"]

# Called with an entry's request before it is placed; raises to refuse it (the risk rules).
Refusal = Callable[[OrderRequest], None]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
BLOCKED = "the exit before this entry was refused"  # an entry after its sleeve's refused exit


def book_bar(bar: RunnerBar) -> Bar:
    """The paper ledger's bar of a runner's bar (open time as a UTC datetime, to the microsecond)."""
    stamp = _EPOCH + dt.timedelta(microseconds=bar.ts_ns // 1000)
    return Bar(stamp, float(bar.open), float(bar.high), float(bar.low), float(bar.close))


def place_legs(
    broker: PaperBroker,
    planned: Iterable[PlannedOrder],
    bar: Bar,
    *,
    skip: frozenset[str] = frozenset(),
    refuse: Refusal | None = None,
) -> list[tuple[PlannedOrder, OrderState]]:
    """Submit the legs planned in ``bar`` (in the runner's order) and fill them there; the states.
    ``skip``: client order ids already placed (a replayed bar places nothing twice). A leg with no
    open trade to act on, an entry ``refuse`` raises for, or an entry after its sleeve's refused exit
    comes back rejected, nothing placed."""
    out: list[tuple[PlannedOrder, OrderState]] = []
    blocked: set[tuple[str, str]] = set()  # sleeves whose exit was refused: no entry after it
    for p in planned:
        cfg = p.config
        trade = (
            None if p.leg == "enter" else broker.book.sleeve_trade(cfg.user_id, cfg.strategy_id, cfg.symbol)
        )
        request = p.request_for(None if trade is None else trade.id)
        if request.client_order_id in skip:
            continue
        if p.leg != "enter":
            if trade is None:
                out.append((p, rejected(request, NO_POSITION)))
                continue
        elif (cfg.strategy_id, cfg.symbol) in blocked:
            out.append((p, rejected(request, BLOCKED)))
            continue
        elif refuse is not None:
            try:
                refuse(request)
            except (InsufficientBalanceError, RiskRuleError, TradingDisabledError) as exc:
                out.append((p, rejected(request, str(exc))))
                continue
        state = broker.submit_at(request, bar)
        if p.leg != "enter" and state.status is OrderStatus.REJECTED:
            blocked.add((cfg.strategy_id, cfg.symbol))
        out.append((p, state))
    return out


def rejected(request: OrderRequest, reason: str) -> OrderState:
    """The state of a leg refused before it reached the broker (nothing placed)."""
    return OrderState("", request.client_order_id, OrderStatus.REJECTED, None, reason)
