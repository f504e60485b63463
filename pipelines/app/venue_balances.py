"""The balances a user's venues reported at their last sync (``POST /api/sync``): stored per venue and
environment, replaced as a whole by each sync, and read back for the portfolio."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pipelines.db.trading_models import VenueBalanceRow
from pipelines.db.types import isoformat_utc, utc_now

__all__ = ["store_balances", "venue_balances"]


def store_balances(
    session: Session,
    user_id: str,
    venue: str,
    environment: str,
    totals: dict[str, Decimal],
    free: dict[str, Decimal] | None = None,
) -> None:
    """Replace the user's stored balances of ``venue`` and ``environment`` with ``totals`` (and their
    ``free`` parts where the venue gives them); an asset no longer held disappears."""
    session.execute(
        delete(VenueBalanceRow).where(
            VenueBalanceRow.user_id == user_id,
            VenueBalanceRow.venue == venue,
            VenueBalanceRow.environment == environment,
        )
    )
    now = utc_now()
    free = free or {}
    for asset, total in sorted(totals.items()):
        session.add(
            VenueBalanceRow(
                user_id=user_id,
                venue=venue,
                environment=environment,
                asset=asset[:64],
                free=free.get(asset),
                total=total,
                synced_at=now,
            )
        )
    session.flush()


def venue_balances(session: Session, user_id: str, venue: str | None = None) -> list[dict[str, Any]]:
    """The user's stored venue balances (of one venue, or all): ``[{venue, environment, asset, free,
    total, synced_at}]`` ordered by venue, environment and asset."""
    query = select(VenueBalanceRow).where(VenueBalanceRow.user_id == user_id)
    if venue is not None:
        query = query.where(VenueBalanceRow.venue == venue)
    rows = session.scalars(
        query.order_by(VenueBalanceRow.venue, VenueBalanceRow.environment, VenueBalanceRow.asset)
    )
    return [
        {
            "venue": row.venue,
            "environment": row.environment,
            "asset": row.asset,
            "free": row.free,
            "total": row.total,
            "synced_at": isoformat_utc(row.synced_at),
        }
        for row in rows
    ]
