"""Syncing a user's external venue into the trade store: the ``exchange_sync`` job kind and
``POST /api/sync`` that starts it.

A ccxt exchange (Binance...) gives its balances and the account's fills of every symbol the user
trades or holds, page by page from where the key's last sync stopped (:mod:`pipelines.app.venue_fills`;
at most ``exchange_sync_max_pages`` pages a symbol, the result says when it stopped there): the fills
of one order are one entry, and each sell is paired with the earlier buys
of its symbol first in, first out (:mod:`pipelines.app.venue_rounds`), so a round trip is one closed
trade with entry, exit and pnl and what is still held one active trade; 3Commas gives its accounts
and deals (one trade row per deal: ``active`` while open, ``closed`` with its profit once finished).
Every venue answer is read before anything is written, then one transaction stores them: a row is
keyed by the venue's ids (``external_id``, unique per user and venue), so a trade synced twice is stored
once (an open one is updated). A failing venue fails the job with its (scrubbed) message and writes
nothing. The balances are the job's result and are stored (``venue_balances``, shown by the portfolio).
One sync per user and venue runs at a time unless forced.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from pipelines.app.venue_balances import store_balances
from pipelines.app.venue_fills import held_lots, read_cursors, read_fills, save_cursors
from pipelines.app.venue_health import SYNC_JOB_KIND
from pipelines.app.venue_rounds import VenueOrder, group_fills, round_trips
from pipelines.db import Database, open_database
from pipelines.db.job_models import Job
from pipelines.db.ledger_versions import bump_ledgers
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.db.types import isoformat_utc, utc_now
from pipelines.errors import InvalidRequestError
from pipelines.jobs import JobQueue, ProgressReporter, register_task
from pipelines.security.secretbox import EXCHANGE_CREDENTIALS, SecretBox
from pipelines.settings import Settings
from pipelines.trading.credentials import ExchangeKeyStore
from pipelines.trading.exchanges import (
    THREE_COMMAS,
    CcxtClient,
    Credentials,
    ThreeCommasClient,
    check_venue,
    open_ccxt,
    venue_name,
)

__all__ = ["MAX_SYNC_SYMBOLS", "exchange_sync_task", "start_sync", "sync_venue"]

MAX_SYNC_SYMBOLS = 20  # markets read per sync (the user's traded and held ones)
MAX_DEAL_PAGES = 5
_ZERO = Decimal(0)
_FINISHED_DEALS = {
    "completed": "closed",
    "panic_sold": "closed",
    "cancelled": "cancelled",
    "failed": "cancelled",
}
_STARTING = threading.Lock()
_UPDATED = (
    "status",
    "quantity",
    "entry_price",
    "exit_price",
    "last_price",
    "realized_pnl",
    "commission",
    "closed_at",
)
_REPLACED = ("open:", "trade:")  # a held part that later sells closed; a single fill (older syncs)


@dataclass
class Pulled:
    """What one venue answered: its balances, its trades as trade-row values and its fills by order."""

    balances: dict[str, Decimal] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # by external id
    orders: list[VenueOrder] = field(default_factory=list)  # a ccxt venue's, paired when stored
    free: dict[str, Decimal] = field(default_factory=dict)
    symbols: list[str] = field(default_factory=list)  # the markets whose fills were read
    resumed: list[str] = field(default_factory=list)  # those read from where an earlier sync stopped
    incomplete: list[str] = field(default_factory=list)  # those with fills left at the page bound
    last_ms: dict[str, int] = field(default_factory=dict)  # per market: the newest fill read

    @property
    def seen(self) -> int:
        """The venue trades read: fills of a ccxt venue, deals of 3Commas."""
        return sum(o.fills for o in self.orders) + len(self.rows)


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# -- reading the venues (no database) --------------------------------------------------------------
def _symbols(client: CcxtClient, known: list[str], held: dict[str, Decimal], quote: str) -> list[str]:
    """The markets to read fills of: the user's traded symbols, then a market per held asset."""
    wanted = [s for s in known if "/" in s] + [f"{a}/{quote}" for a in sorted(held) if a != quote]
    found: list[str] = []
    for symbol in dict.fromkeys(wanted):
        if len(found) >= MAX_SYNC_SYMBOLS:
            break
        try:
            client.market(symbol)
        except InvalidRequestError:  # no such market on the venue
            continue
        found.append(symbol)
    return found


def pull_ccxt(
    client: CcxtClient, known: list[str], quote: str, cursors: dict[str, int], max_pages: int
) -> Pulled:
    """Balances and fills; a market's fills after its cursor (the newest fill stored), when it has one."""
    balance = client.fetch_balance()
    pulled = Pulled(balances={a: v for a, v in balance.total.items() if v})
    pulled.free = {a: balance.free.get(a, _ZERO) for a in pulled.balances}
    pulled.symbols = _symbols(client, known, pulled.balances, quote)
    for symbol in pulled.symbols:
        after = cursors.get(symbol)
        read = read_fills(client, symbol, after, max_pages)
        pulled.orders += group_fills(symbol, read.fills)
        if read.last_ms is not None:
            pulled.last_ms[symbol] = read.last_ms
        if after is not None:
            pulled.resumed.append(symbol)
        if not read.complete:
            pulled.incomplete.append(symbol)
    return pulled


def deal_values(deal: dict[str, Any]) -> dict[str, Any] | None:
    """A 3Commas deal as trade-row values (None: not a pair, or nothing bought yet)."""
    quote, _, base = str(deal.get("pair") or "").partition("_")
    bought = _decimal(deal.get("bought_amount")) or _ZERO
    created = _time(deal.get("created_at"))
    if not quote or not base or bought <= 0 or created is None:
        return None
    status = _FINISHED_DEALS.get(str(deal.get("status")), "closed" if deal.get("finished?") else "active")
    exit_price = _decimal(deal.get("sold_average_price")) if status == "closed" else None
    return {
        "symbol": f"{base}/{quote}",
        "side": "short" if deal.get("strategy") == "short" else "long",
        "status": status,
        "quantity": bought,
        "entry_price": _decimal(deal.get("bought_average_price")),
        "exit_price": exit_price or None,
        "last_price": _decimal(deal.get("current_price")),
        "realized_pnl": (_decimal(deal.get("final_profit")) or _ZERO) if status == "closed" else _ZERO,
        "commission": _ZERO,
        "close_reason": f"3Commas deal of bot {deal.get('bot_id')}"[:200],
        "created_at": created,
        "opened_at": created,
        "closed_at": _time(deal.get("closed_at")) if status != "active" else None,
    }


def pull_three_commas(client: ThreeCommasClient) -> Pulled:
    pulled = Pulled()
    for account in client.accounts():
        usd = account.usd_balance
        if usd:
            pulled.balances[f"account:{account.account_id}:USD"] = usd
    for page in range(MAX_DEAL_PAGES):
        deals = client.deals(offset=page * 100)
        for deal in deals:
            row = deal_values(deal)
            if row is not None:
                pulled.rows[f"deal:{deal.get('id')}"] = row
        if len(deals) < 100:
            break
    return pulled


# -- writing (one transaction) ---------------------------------------------------------------------
def _paired(session: Session, user_id: str, venue: str, pulled: Pulled) -> dict[str, dict[str, Any]]:
    """The rows of a ccxt venue's fills paired into round trips, its stale held parts and single-fill
    rows of the synced symbols deleted; the orders placed here (``POST /api/trades`` with this broker)
    are those trades already: left out."""
    placed = set(
        session.scalars(
            select(OrderRow.venue_order_id).where(
                OrderRow.user_id == user_id,
                OrderRow.broker == venue,
                OrderRow.venue_order_id.in_({o.key for o in pulled.orders}),
            )
        )
    )
    held = held_lots(session, user_id, venue, pulled.resumed)  # bought before the fills read now
    rows = round_trips(venue, held + [o for o in pulled.orders if o.key not in placed])
    for symbol in pulled.symbols:
        session.execute(
            delete(TradeRow).where(
                TradeRow.user_id == user_id,
                TradeRow.broker == venue,
                or_(*(TradeRow.external_id.startswith(f"{p}{symbol}:", autoescape=True) for p in _REPLACED)),
                TradeRow.external_id.not_in(list(rows)),
            )
        )
    return rows


def store_pulled(session: Session, user_id: str, venue: str, pulled: Pulled) -> tuple[int, int]:
    """Insert the new trades, update the changed ones: (added, updated)."""
    bump_ledgers(session, [user_id])  # before the write (see pipelines.db.ledger_versions)
    rows = pulled.rows | _paired(session, user_id, venue, pulled) if pulled.symbols else pulled.rows
    ids = list(rows)
    existing: dict[str, TradeRow] = {}
    for start in range(0, len(ids), 500):
        query = select(TradeRow).where(
            TradeRow.user_id == user_id,
            TradeRow.broker == venue,
            TradeRow.external_id.in_(ids[start : start + 500]),
        )
        existing |= {row.external_id or "": row for row in session.scalars(query)}
    added = updated = 0
    now = utc_now()
    for external_id in ids:
        values, row = rows[external_id], existing.get(external_id)
        if row is None:
            session.add(TradeRow(user_id=user_id, broker=venue, external_id=external_id, **values))
            added += 1
            continue
        if any(getattr(row, name) != values[name] for name in _UPDATED):
            for name in _UPDATED:
                setattr(row, name, values[name])
            row.updated_at = now
            updated += 1
    session.flush()
    return added, updated


def sync_venue(settings: Settings, database: Database, user_id: str, venue: str) -> dict[str, Any]:
    """Read the venue with the user's newest key of it, then store what it answered."""
    store = ExchangeKeyStore(SecretBox.from_settings(settings, purpose=EXCHANGE_CREDENTIALS))
    with database.session() as session:
        record = store.newest(session, user_id, venue)
        if record is None:
            raise InvalidRequestError(_no_key(venue))
        credentials, environment, key_id = store.credentials(record), record.environment, record.id
        known = list(session.scalars(select(TradeRow.symbol).distinct().where(TradeRow.user_id == user_id)))
        cursors = read_cursors(session, key_id)
    pulled = _pull(settings, venue, credentials, environment, known[:200], cursors)
    with database.transaction() as session:
        added, updated = store_pulled(session, user_id, venue, pulled)
        store_balances(session, user_id, venue, environment, pulled.balances, pulled.free)
        save_cursors(session, key_id, pulled.last_ms)
    return _result(settings, venue, environment, pulled, added, updated)


def _result(
    settings: Settings, venue: str, environment: str, pulled: Pulled, added: int, updated: int
) -> dict[str, Any]:
    pages = settings.exchanges.exchange_sync_max_pages
    note = (
        f"stopped after {pages} pages of fills of {', '.join(pulled.incomplete)} "
        "(exchange_sync_max_pages): the next sync resumes there"
    )
    return {
        "source": venue,
        "environment": environment,
        "balances": {
            asset: format(value.normalize(), "f") for asset, value in sorted(pulled.balances.items())
        },
        "trades_seen": pulled.seen,
        "trades_added": added,
        "trades_updated": updated,
        "fills_complete": not pulled.incomplete,
        **({"note": note} if pulled.incomplete else {}),
    }


def _pull(
    settings: Settings,
    venue: str,
    credentials: Credentials,
    environment: str,
    known: list[str],
    cursors: dict[str, int],
) -> Pulled:
    options = settings.exchanges
    url = options.exchange_api_urls.get(venue)
    timeout = options.exchange_timeout_seconds
    if venue == THREE_COMMAS:
        client = ThreeCommasClient(credentials, environment=environment, timeout_seconds=timeout, api_url=url)
        return pull_three_commas(client)
    exchange = open_ccxt(venue, credentials, environment=environment, timeout_seconds=timeout, api_url=url)
    return pull_ccxt(exchange, known, options.quote_asset, cursors, options.exchange_sync_max_pages)


def _no_key(venue: str) -> str:
    return f"no {venue_name(venue)} API key: store one with POST /api/keys/ (provider_id {venue!r})"


# -- the job kind and the route's use case ---------------------------------------------------------
def _validate(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    del settings
    if set(params) != {"source"} or not isinstance(params["source"], str):
        raise InvalidRequestError("an exchange sync takes one parameter: source (a venue id)")
    venue, _ = check_venue(params["source"][:40], None)
    return {"source": venue}


@register_task(
    SYNC_JOB_KIND,
    cpu_cores=0.25,
    ram_gb=0.5,
    validate=_validate,
    describe=lambda p: f"Syncing trades and balances from {venue_name(str(p.get('source')))}...",
)
def exchange_sync_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """A sync in a worker, for the user who queued it."""
    settings = progress.settings
    database = open_database(settings)
    try:
        with database.session() as session:
            user_id = session.scalar(select(Job.user_id).where(Job.id == progress.job_id))
        if user_id is None:
            raise InvalidRequestError("an exchange sync runs for a user")
        progress.update(10.0, f"Reading {venue_name(params['source'])}...")
        return sync_venue(settings, database, user_id, params["source"])
    finally:
        database.close()


def start_sync(
    jobs: JobQueue, store: ExchangeKeyStore, user_id: str, source: str, *, force: bool
) -> dict[str, Any]:
    """Start a sync job of ``source`` for the user (their running one, unless ``force``); one request
    of this process decides at a time, so two at once start one job."""
    venue, _ = check_venue(source, None)
    with _STARTING:
        with jobs.database.session() as session:
            if store.newest(session, user_id, venue) is None:
                raise InvalidRequestError(_no_key(venue))
            running = session.scalars(
                select(Job)
                .where(
                    Job.kind == SYNC_JOB_KIND, Job.user_id == user_id, Job.status.in_(("queued", "running"))
                )
                .order_by(Job.created_at.desc())
                .limit(50)
            ).all()
            job_id = next((j.id for j in running if (j.params or {}).get("source") == venue), None)
        joined = job_id is not None and not force
        info = (
            jobs.info(job_id) if joined and job_id else jobs.submit(SYNC_JOB_KIND, {"source": venue}, user_id)
        )
    return {
        "source": venue,
        "sync_started": isoformat_utc(info.started_at or info.created_at),
        "estimated_duration": "1m",
        "status": "syncing",
        "job_id": info.id,
        "job_status": info.status,
        "already_running": joined,
    }
