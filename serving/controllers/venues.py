"""/api/binance/health and /api/3commas/health: whether the caller's stored key for the venue works,
checked with one authenticated request (a short timeout). Never an error for a failing venue: it is
``connected: false`` with the reason; without a key, ``connected: false`` and no request is made."""

from __future__ import annotations

from typing import Any

from litestar import get

from pipelines.db.types import isoformat_utc, utc_now
from serving.context import PrincipalDep
from serving.providers.exchanges import EXCHANGES, ExchangesDep
from serving.responses import exchanges as r
from serving.responses import shaped
from serving.schemas import doc
from serving.schemas import exchange_examples as ex

__all__ = ["venue_handlers"]

_WHY = (
    " `connected` is false, with the `reason`, when you have no key for it or it refuses or fails the "
    "call; `last_sync` is when your last sync of it finished (null: never)."
)


def _success(data: dict[str, Any]) -> dict[str, Any]:
    return {"status": "success", "data": data, "timestamp": isoformat_utc(utc_now())}


@get(
    "/api/binance/health",
    dependencies=EXCHANGES,
    tags=["exchanges"],
    summary="Whether your Binance key works: account type, balance, trading permission",
    description="Reads your spot account with your newest Binance key (testnet or live): `balance` "
    "is its total of the quote asset (USDT) as a decimal string, `trading_enabled` its permission to "
    "trade." + _WHY,
    responses=doc(ex.BINANCE_HEALTH, 401),
    sync_to_thread=True,
)
def binance_health(exchanges: ExchangesDep, principal: PrincipalDep) -> r.BinanceHealthAnswer:
    data = exchanges.health.binance(principal.user_id)
    return shaped(r.BinanceHealthAnswer, _success(data))


@get(
    "/api/3commas/health",
    dependencies=EXCHANGES,
    tags=["exchanges"],
    summary="Whether your 3Commas key works: account, balance, active bots",
    description="Lists your 3Commas accounts and enabled bots with your newest 3Commas key: "
    "`account_id` and `balance` (USD, a decimal string) are of the first account." + _WHY,
    responses=doc(ex.THREE_COMMAS_HEALTH, 401),
    sync_to_thread=True,
)
def three_commas_health(exchanges: ExchangesDep, principal: PrincipalDep) -> r.ThreeCommasHealthAnswer:
    data = exchanges.health.three_commas(principal.user_id)
    return shaped(r.ThreeCommasHealthAnswer, _success(data))


venue_handlers: list[Any] = [binance_health, three_commas_health]
