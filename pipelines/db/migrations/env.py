"""Alembic environment: runs the migrations on the connection ``pipelines.db.migrate`` hands in.

Run by hand (``alembic -x url=sqlite:///... upgrade head`` with ``script_location`` pointing here),
it opens its own connection from the ``url`` argument or ``TRADEFORGE_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from pipelines.db.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from pipelines.db.engine import create_db_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("TRADEFORGE_DATABASE_URL")
    if not url:
        raise SystemExit("give the database as -x url=... or TRADEFORGE_DATABASE_URL")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
