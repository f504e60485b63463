"""An exchange sync reads a symbol's fills page by page (ccxt ``fetch_my_trades`` with ``since`` and
the venue's limit) up to ``exchange_sync_max_pages``, says so in its result when it stops there, and
the next sync resumes after the newest fill stored: two bounded syncs store what one unbounded sync
of the same fills stores (the buys held from the first paired with the second's sells, FIFO). Binance
is the recorded-response replay server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipelines.app.accounts import register_user
from pipelines.app.exchange_sync import sync_venue
from pipelines.app.venue_fills import PAGE
from pipelines.db import open_database
from pipelines.db.exchange_keys import ExchangeSyncCursor
from pipelines.db.trading_models import TradeRow
from pipelines.security.secretbox import EXCHANGE_CREDENTIALS, SecretBox
from pipelines.trading.credentials import ExchangeKeyStore
from pipelines.trading.exchanges import Credentials
from tests.serving_support import served_settings
from tests.trading.replay import Replay, recorded, replay_server

T0 = 1_764_979_200_000  # ms
FILLS = 2 * PAGE + 230  # more than two pages


def fills() -> list[dict[str, Any]]:
    """Two buys then a sell that closes one and a half of them, repeated; one fill per order."""
    template = recorded("binance_my_trades.json")[0]
    out = []
    for i in range(FILLS):
        sell = i % 3 == 2
        qty, price = ("0.003", 101 + i % 7) if sell else ("0.002", 100 + i % 5)
        out.append(
            template
            | {
                "id": 50_000 + i,
                "orderId": 900_000 + i,
                "price": f"{price}.00000000",
                "qty": qty,
                "quoteQty": str(price * float(qty)),
                "commission": "0.3" if sell else "0.2",
                "time": T0 + 60_000 * i,
                "isBuyer": not sell,
            }
        )
    return out


@pytest.fixture
def replay() -> Iterator[Replay]:
    with replay_server() as server:
        server.fills = fills()
        yield server


def _venue(tmp_path: Path, replay: Replay, max_pages: int) -> tuple[Any, Any, str]:
    urls = {"binance": replay.url}
    settings = served_settings(tmp_path / "home", exchange_api_urls=urls, exchange_sync_max_pages=max_pages)
    database = open_database(settings)
    store = ExchangeKeyStore(SecretBox.from_settings(settings, purpose=EXCHANGE_CREDENTIALS))
    with database.transaction() as s:
        user = register_user(s, "ann", "correct-horse-battery").id
        credentials = Credentials("k" * 64, "s" * 64)
        store.create(s, user, provider_id="binance", environment=None, credentials=credentials)
    return settings, database, user


def _trades(database: Any) -> list[tuple[Any, ...]]:
    with database.session() as s:
        rows = s.scalars(select(TradeRow).where(TradeRow.symbol == "BTC/USDT")).all()
        return sorted(
            (r.external_id, r.status, r.quantity, r.entry_price, r.exit_price, r.realized_pnl, r.commission)
            for r in rows
        )


def test_bounded_syncs_resume_where_they_stopped_and_store_what_one_full_sync_stores(
    tmp_path: Path, replay: Replay
) -> None:
    settings, database, user = _venue(tmp_path / "bounded", replay, max_pages=2)
    first = sync_venue(settings, database, user, "binance")
    assert first["fills_complete"] is False
    assert "stopped after 2 pages of fills of BTC/USDT (exchange_sync_max_pages)" in first["note"]
    asked = [r for r in replay.requests if r.path == "/api/v3/myTrades" and r.query["symbol"] == ["BTCUSDT"]]
    assert [r.query["limit"] for r in asked] == [[str(PAGE)], [str(PAGE)]]
    with database.session() as s:
        (cursor,) = s.scalars(select(ExchangeSyncCursor).where(ExchangeSyncCursor.symbol == "BTC/USDT")).all()
    assert cursor.last_fill_ms == T0 + 60_000 * (2 * PAGE - 2)  # the second page re-read the first's last

    replay.requests.clear()
    second = sync_venue(settings, database, user, "binance")
    assert second["fills_complete"] is True and "note" not in second
    resumed = next(
        r for r in replay.requests if r.path == "/api/v3/myTrades" and r.query["symbol"] == ["BTCUSDT"]
    )
    assert resumed.query["startTime"] == [str(cursor.last_fill_ms + 1)]
    assert second["trades_seen"] == FILLS - (2 * PAGE - 1)

    settings_all, database_all, user_all = _venue(tmp_path / "whole", replay, max_pages=10)
    whole = sync_venue(settings_all, database_all, user_all, "binance")
    assert whole["fills_complete"] is True and whole["trades_seen"] == FILLS
    stored = _trades(database)
    assert len(stored) > FILLS // 3 and stored == _trades(database_all)
    database.close()
    database_all.close()
