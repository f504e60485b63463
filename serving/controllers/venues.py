"""/api/binance/health and /api/3commas/health: whether the caller's stored key for the venue works,
checked with one authenticated request (a short timeout). Never an error for a failing venue: it is
``connected: false`` with the reason; without a key, ``connected: false`` and no request is made."""

from __future__ import annotations

from typing import Any

from litestar import get, post

from pipelines.app.exchange_sync import start_sync
from serving.context import PrincipalDep
from serving.providers.exchanges import EXCHANGES, ExchangesDep
from serving.responses import exchanges as r
from serving.responses import shaped, success
from serving.schemas import doc
from serving.schemas import exchange_examples as ex

__all__ = ["venue_handlers"]

_WHY = (
    " `connected` is false, with the `reason`, when you have no key for it or it refuses or fails the "
    "call; `last_sync` is when your last sync of it finished (null: never)."
)


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
    return shaped(r.BinanceHealthAnswer, success(data))


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
    return shaped(r.ThreeCommasHealthAnswer, success(data))


@post(
    "/api/sync",
    status_code=200,
    dependencies=EXCHANGES,
    tags=["exchanges"],
    summary="Sync your trades and balances from an external venue (a background job)",
    description="Starts a job that reads your account on the venue with your newest key of it: a ccxt "
    "exchange's balances and fills of the symbols you trade or hold, 3Commas' accounts and deals. They "
    "are stored once each (a trade synced again is not duplicated) and appear in /api/trades/history "
    "with the venue as `broker`; the balances are the job's result. While a sync of the venue runs, "
    "the answer is that job unless `force`. Without a key of the venue: 400 naming it. When it has "
    "finished, the venue's health route shows its end as `last_sync`; a failing venue fails the job "
    "with its reason and stores nothing.",
    responses=doc(ex.SYNC_STARTED, 400, 401),
    sync_to_thread=True,
)
def sync_venue(exchanges: ExchangesDep, principal: PrincipalDep, data: ex.SyncBody) -> r.SyncAnswer:
    started = start_sync(exchanges.jobs, exchanges.store, principal.user_id, data.source, force=data.force)
    return shaped(r.SyncAnswer, success(started))


venue_handlers: list[Any] = [binance_health, three_commas_health, sync_venue]
