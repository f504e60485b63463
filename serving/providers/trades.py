"""What the trade and DCA routes need: the paper trading desk (``pipelines.app.trades``) built at
start-up, and the authenticated caller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.app.trades import TradeDesk
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["TRADES", "TradesDep"]

TradesDep = NamedDependency[TradeDesk]


def _provide(state: State) -> TradeDesk:
    desk: TradeDesk = state.container.trade_desk
    return desk


def _principal(trades: TradesDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


TRADES = provides("trades", _provide, _principal)
"""The dependencies of the trade and DCA controllers: ``trades: TradesDep`` and ``principal``."""
