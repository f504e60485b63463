"""Accounts: case-insensitive usernames, a token version per user, failed-login throttling.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Columns are added in place (no table copy: on SQLite a copy of ``users`` would cascade-delete
every row that refers to it). Existing users get ``token_version`` 0, so tokens issued before the
upgrade keep working; ``username_key`` is the lower-cased username, except for accounts whose names
already differed only by case: the oldest keeps the plain key, the others get ``<key>:<id>`` and
can be managed by id (``tradeforge users ... <id>``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def _fill_username_keys() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, username FROM users ORDER BY created_at, id")).all()
    taken: set[str] = set()
    for user_id, username in rows:
        key = str(username).lower()
        if key in taken:
            log.warning(
                "username %r clashes with an older account by case: its key is %s:%s", username, key, user_id
            )
            key = f"{key}:{user_id}"
        taken.add(key)
        bind.execute(
            sa.text("UPDATE users SET username_key = :key WHERE id = :id"), {"key": key, "id": user_id}
        )


def upgrade() -> None:
    op.add_column("users", sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
    # SQLite adds a NOT NULL column only with a default; the keys are filled in right after.
    op.add_column("users", sa.Column("username_key", sa.String(128), nullable=False, server_default=""))
    _fill_username_keys()
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("users", "username_key", server_default=None)
    op.create_index("uq_users_username_key", "users", ["username_key"], unique=True)
    op.create_table(
        "login_throttle",
        sa.Column("username_key", sa.String(128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username_key", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_last_failure_at"), "login_throttle", ["last_failure_at"])


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_index("uq_users_username_key", table_name="users")
    op.drop_column("users", "username_key")
    op.drop_column("users", "token_version")
