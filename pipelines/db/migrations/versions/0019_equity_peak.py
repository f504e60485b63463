"""The paper drawdown rule's peak is the peak of the equity, no longer of the cash.

The equity is the cash plus the active paper positions in that currency marked to their last price (a
long: its notional; a short: its pnl, its margin being part of the cash). Each stored peak becomes the
larger of itself and the equity now. Data only; the downgrade keeps the peaks (a higher peak than the
cash's only makes the old rule stricter until the cash passes it).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from pipelines.db.types import ExactDecimal

revision: str = "0019"
down_revision: str | None = "0018"
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
    sa.column("last_price", ExactDecimal()),
)
_balances = sa.table(
    "paper_balances",
    sa.column("user_id", sa.String),
    sa.column("asset", sa.String),
    sa.column("balance", ExactDecimal()),
    sa.column("peak", ExactDecimal()),
)


def upgrade() -> None:
    conn = op.get_bind()
    active = sa.select(
        _trades.c.user_id,
        _trades.c.symbol,
        _trades.c.side,
        _trades.c.quantity,
        _trades.c.entry_price,
        _trades.c.last_price,
    ).where(_trades.c.broker == "paper", _trades.c.status == "active")
    held: dict[tuple[str, str], Decimal] = {}
    for user_id, symbol, side, quantity, entry, last in conn.execute(active):
        mark = last or entry or Decimal(0)
        value = quantity * mark if side == "long" else quantity * ((entry or mark) - mark)
        key = (user_id, symbol.partition("/")[2] or "USD")
        held[key] = held.get(key, Decimal(0)) + value
    rows = conn.execute(
        sa.select(_balances.c.user_id, _balances.c.asset, _balances.c.balance, _balances.c.peak)
    )
    for user_id, asset, balance, peak in rows.all():
        equity = balance + held.get((user_id, asset), Decimal(0))
        if equity > peak:
            where = sa.and_(_balances.c.user_id == user_id, _balances.c.asset == asset)
            conn.execute(_balances.update().where(where).values(peak=equity))


def downgrade() -> None:
    """Nothing to undo: the peaks raised stay (see the module's docstring)."""
