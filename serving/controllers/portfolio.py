"""/portfolio and /portfolio/history: the caller's paper portfolio (cash plus open positions marked to
the newest stored close) and its daily values. Plain shapes, numbers as floats; private: a caller
(Bearer token or X-API-Key) sees only their own portfolio."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from pipelines.app.portfolio import (
    DEFAULT_HISTORY_DAYS,
    MAX_HISTORY_DAYS,
    current_portfolio,
    exchange_balances,
    portfolio_history,
)
from serving.context import PrincipalDep
from serving.providers.trades import TRADES, TradesDep
from serving.responses import portfolio as p
from serving.responses import shaped
from serving.schemas import doc
from serving.schemas import portfolio_examples as ex

__all__ = ["PortfolioController"]

_PRIVATE = " Needs a caller (401 without one): each user sees only their own portfolio."
_PORTFOLIO = (
    "Paper cash (every quote currency's balance, USDT counted as USD) plus the active trades marked to "
    "the newest stored close (a short's value is its pnl: its notional is held from the cash as margin); "
    "`reserved_cash` is what open entry and DCA orders and short margin hold, `free_cash` what new orders "
    "may spend; stored bars "
    "are settled into the trades first. `daily_pnl` is against the latest snapshot before today "
    "(without one, the starting balance); `total_pnl` against the starting balance; percentages in "
    "percent. `exchange_balances` lists what each of your exchanges reported at its last sync (POST "
    "/api/sync), per venue, environment and asset; they are not counted in the paper cash, and a synced "
    "trade still open is held there, not among the positions." + _PRIVATE
)
_HISTORY = (
    "The portfolio's value at each day's snapshot (taken daily, and for today when missing) over the "
    f"last `days` days, today included, oldest first; `days` 1 to {MAX_HISTORY_DAYS} (else 400)." + _PRIVATE
)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 8)


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PortfolioController(Controller):
    path = "/portfolio"
    tags = ["portfolio"]
    dependencies = TRADES

    @get(
        "/",
        summary="Your paper portfolio: cash, positions and pnl",
        description=_PORTFOLIO,
        responses=doc(ex.PORTFOLIO, 401),
        sync_to_thread=True,
    )
    def portfolio(self, trades: TradesDep, principal: PrincipalDep) -> p.PortfolioAnswer:
        state = current_portfolio(trades, principal.user_id)
        positions = [
            {
                "symbol": h.symbol,
                "side": h.side,
                "quantity": _num(h.quantity),
                "entry_price": _num(h.entry_price),
                "current_price": _num(h.current_price),
                "pnl": _num(h.pnl),
                "pnl_pct": _num(h.pnl_pct),
                "opened_at": _time(h.opened_at),
            }
            for h in state.positions
        ]
        answer = {
            "total_value": _num(state.total_value),
            "cash": _num(state.cash),
            "reserved_cash": _num(state.reserved),
            "free_cash": _num(state.cash - state.reserved),
            "positions": positions,
            "daily_pnl": _num(state.daily_pnl),
            "daily_pnl_pct": _num(state.daily_pnl_pct),
            "total_pnl": _num(state.total_pnl),
            "total_pnl_pct": _num(state.total_pnl_pct),
            "exchange_balances": [
                b | {"free": _num(b["free"]), "total": _num(b["total"])}
                for b in exchange_balances(trades, principal.user_id)
            ],
        }
        return shaped(p.PortfolioAnswer, answer)

    @get(
        "/history",
        summary="Your portfolio's daily values",
        description=_HISTORY,
        responses=doc(ex.HISTORY, 400, 401),
        sync_to_thread=True,
    )
    def history(
        self,
        trades: TradesDep,
        principal: PrincipalDep,
        days: Annotated[
            int,
            Parameter(ge=1, le=MAX_HISTORY_DAYS, description=f"Days of history (1 to {MAX_HISTORY_DAYS})"),
        ] = DEFAULT_HISTORY_DAYS,
    ) -> list[p.HistoryPoint]:
        points = portfolio_history(trades, principal.user_id, days)
        return [
            shaped(
                p.HistoryPoint,
                {"date": f"{point['date'].isoformat()}T00:00:00Z", "value": _num(point["value"])},
            )
            for point in points
        ]
