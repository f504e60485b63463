"""Paper shorts hold margin: the proceeds booked into the balance when an open short was sold come out.

A short's sale used to add its notional to the paper balance; it now books only the fee and holds the
notional as margin until the close, which books the pnl. The balance (and its peak) of each user
holding an active paper short loses that short's entry notional, so its close does not leave the
proceeds behind. Data only; the downgrade puts them back.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from pipelines.db.types import ExactDecimal

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_trades = sa.table(
    "trades",
    sa.column("user_id", sa.String),
    sa.column("symbol", sa.String),
    sa.column("side", sa.String),
    sa.column("broker", sa.String),
    sa.column("status", sa.String),
    sa.column("quantity", ExactDecimal()),
    sa.column("entry_price", ExactDecimal()),
)
_balances = sa.table(
    "paper_balances",
    sa.column("user_id", sa.String),
    sa.column("asset", sa.String),
    sa.column("balance", ExactDecimal()),
    sa.column("peak", ExactDecimal()),
)


def _shift(sign: int) -> None:
    """Move each active paper short's entry notional out of (-1) or back into (+1) the balance."""
    conn = op.get_bind()
    shorts = sa.select(_trades.c.user_id, _trades.c.symbol, _trades.c.quantity, _trades.c.entry_price).where(
        _trades.c.side == "short",
        _trades.c.broker == "paper",
        _trades.c.status == "active",
        _trades.c.entry_price.is_not(None),
    )
    moved: dict[tuple[str, str], Decimal] = {}
    for user_id, symbol, quantity, entry in conn.execute(shorts):
        key = (user_id, symbol.partition("/")[2] or "USD")
        moved[key] = moved.get(key, Decimal(0)) + quantity * entry
    for (user_id, asset), notional in moved.items():
        where = sa.and_(_balances.c.user_id == user_id, _balances.c.asset == asset)
        for balance, peak in conn.execute(sa.select(_balances.c.balance, _balances.c.peak).where(where)):
            values = {"balance": balance + sign * notional, "peak": peak + sign * notional}
            conn.execute(_balances.update().where(where).values(**values))


def upgrade() -> None:
    _shift(-1)


def downgrade() -> None:
    _shift(+1)
