"""What open paper orders and shorts hold is stored, so a balance check reads no order.

``orders.reserve``: the notional an open paper entry or addition order holds, fixed when it is stored
(its price times its quantity; a market order's at its trade's last price, else entry price).
``paper_balances.held_buys`` / ``held_sells`` / ``margin``: per user and quote currency, the sums of
the open orders' reserves that buy and that sell, and the active paper shorts' entry notional (their
margin), kept by the ledger's writes from now on. The upgrade computes all of them for the rows
stored (a currency's sums go to its balance row, which the balance check of the currency's first
order created); the downgrade drops the columns.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from pipelines.db.types import ExactDecimal

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HELD = ("held_buys", "held_sells", "margin")
_orders = sa.table(
    "orders",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("symbol", sa.String),
    sa.column("side", sa.String),
    sa.column("broker", sa.String),
    sa.column("status", sa.String),
    sa.column("purpose", sa.String),
    sa.column("quantity", ExactDecimal()),
    sa.column("price", ExactDecimal()),
    sa.column("trade_id", sa.String),
    sa.column("reserve", ExactDecimal()),
)
_trades = sa.table(
    "trades",
    sa.column("id", sa.String),
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
    *(sa.column(name, ExactDecimal()) for name in _HELD),
)


def _money() -> sa.types.TypeEngine[Decimal]:
    return sa.Numeric(36, 18).with_variant(sa.String(64), "sqlite")


def _held(conn: sa.Connection) -> dict[tuple[str, str], dict[str, Decimal]]:
    """Each open paper entry or addition order's reserve written, and per (user, quote currency)
    the sums of the reserves by side and the active shorts' margin."""
    held: dict[tuple[str, str], dict[str, Decimal]] = {}

    def add(user_id: str, symbol: str, name: str, amount: Decimal) -> None:
        sums = held.setdefault((user_id, symbol.partition("/")[2] or "USD"), dict.fromkeys(_HELD, Decimal(0)))
        sums[name] += amount

    t = _trades.c
    orders = (
        sa.select(
            _orders.c.id,
            _orders.c.user_id,
            _orders.c.symbol,
            _orders.c.side,
            _orders.c.quantity,
            sa.func.coalesce(_orders.c.price, t.last_price, t.entry_price),
        )
        .select_from(_orders.outerjoin(_trades, t.id == _orders.c.trade_id))
        .where(_orders.c.broker == "paper", _orders.c.status == "open", _orders.c.purpose != "exit")
    )
    for order_id, user_id, symbol, side, quantity, price in conn.execute(orders).all():
        reserve = Decimal(0) if price is None else quantity * Decimal(price)
        conn.execute(_orders.update().where(_orders.c.id == order_id).values(reserve=reserve))
        add(user_id, symbol, "held_buys" if side == "buy" else "held_sells", reserve)
    shorts = sa.select(t.user_id, t.symbol, t.quantity, t.entry_price).where(
        t.broker == "paper", t.status == "active", t.side == "short", t.entry_price.is_not(None)
    )
    for user_id, symbol, quantity, entry in conn.execute(shorts):
        add(user_id, symbol, "margin", quantity * entry)
    return held


def upgrade() -> None:
    op.add_column("orders", sa.Column("reserve", _money(), nullable=False, server_default="0"))
    for name in _HELD:
        op.add_column("paper_balances", sa.Column(name, _money(), nullable=False, server_default="0"))
    conn = op.get_bind()
    for (user_id, asset), sums in _held(conn).items():
        where = sa.and_(_balances.c.user_id == user_id, _balances.c.asset == asset)
        conn.execute(_balances.update().where(where).values(**sums))


def downgrade() -> None:
    with op.batch_alter_table("paper_balances") as batch:
        for name in _HELD:
            batch.drop_column(name)
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("reserve")
