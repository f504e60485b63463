"""A ccxt venue's fills of a symbol read page by page, and a sync resumed where the last one stopped.

``fetch_my_trades`` answers one page (at most the venue's limit) from ``since``: a sync asks again from
the newest fill it got until a page comes back short, up to ``exchange_sync_max_pages`` pages (fills
of the same millisecond read twice are dropped by their id). The newest fill read is stored per
exchange key and symbol (``ExchangeSyncCursor``); the next sync reads from just after it, and the buys
still held from before (the ``open:`` rows earlier syncs stored) go in front of the new fills, so a new
sell closes them first in, first out as if every fill had been read at once. An order still filling
while a sync reads it is the exception: its later fills count as an order of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pipelines.app.venue_rounds import VenueOrder
from pipelines.db.exchange_keys import ExchangeSyncCursor
from pipelines.db.trading_models import TradeRow
from pipelines.trading.exchanges import CcxtClient, ExchangeTrade

__all__ = ["PAGE", "SymbolFills", "held_lots", "read_cursors", "read_fills", "save_cursors"]

PAGE = 500  # fills asked for per page (Binance answers up to 1,000)


@dataclass(frozen=True, slots=True)
class SymbolFills:
    fills: list[ExchangeTrade]  # oldest first
    last_ms: int | None  # the newest fill read (epoch ms); None: none read
    complete: bool  # False: stopped at the page bound with more to read


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def read_fills(
    client: CcxtClient, symbol: str, after_ms: int | None, max_pages: int, page: int = PAGE
) -> SymbolFills:
    """The fills of ``symbol`` after ``after_ms`` (None: the venue's earliest), at most ``max_pages``
    pages of ``page``."""
    fills: list[ExchangeTrade] = []
    seen: set[str] = set()
    since = None if after_ms is None else after_ms + 1
    newest = after_ms
    for _ in range(max_pages):
        start = None if since is None else dt.datetime.fromtimestamp(since / 1000, dt.UTC)
        got = client.fetch_my_trades(symbol, since=start, limit=page)
        fresh = [f for f in got if f.trade_id not in seen]
        seen.update(f.trade_id for f in fresh)
        fills += fresh
        if got:
            newest = max(newest or 0, *(_ms(f.timestamp) for f in got))
        if len(got) < page:
            return SymbolFills(fills, newest, True)
        since = newest if fresh else (newest or 0) + 1  # a page of fills read already: past them
    return SymbolFills(fills, newest, False)


def read_cursors(session: Session, key_id: str) -> dict[str, int]:
    """Per symbol: the newest fill the key's syncs stored."""
    query = select(ExchangeSyncCursor.symbol, ExchangeSyncCursor.last_fill_ms).where(
        ExchangeSyncCursor.key_id == key_id
    )
    return {symbol: int(ms) for symbol, ms in session.execute(query)}


def save_cursors(session: Session, key_id: str, last: dict[str, int]) -> None:
    for symbol, ms in last.items():
        session.merge(ExchangeSyncCursor(key_id=key_id, symbol=symbol, last_fill_ms=ms))


def held_lots(session: Session, user_id: str, venue: str, symbols: list[str]) -> list[VenueOrder]:
    """The buys still held from earlier syncs of ``symbols`` (their ``open:`` rows) as venue orders of
    the quantity left (their commission that part's share, so a later pairing splits it alike)."""
    if not symbols:
        return []
    prefixes = [f"open:{symbol}:" for symbol in symbols]
    query = select(TradeRow).where(
        TradeRow.user_id == user_id,
        TradeRow.broker == venue,
        TradeRow.status == "active",
        or_(*(TradeRow.external_id.startswith(p, autoescape=True) for p in prefixes)),
    )
    lots = []
    for row in session.scalars(query):
        order_id = (row.external_id or "").removeprefix(f"open:{row.symbol}:")
        opened = row.opened_at or row.created_at
        price = row.entry_price or Decimal(0)
        lots.append(
            VenueOrder(
                f"{row.symbol}:{order_id}",
                order_id,
                row.symbol,
                "buy",
                row.quantity,
                price,
                row.commission or Decimal(0),
                opened,
                opened,
                0,
            )
        )
    return lots
