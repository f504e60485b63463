"""Each user's ledger version: raised by every ledger writer before it writes; a holder of the ledger
reads from one claim whether anybody else wrote in between, and a writer that comes while a claim's
transaction is open waits for it (on PostgreSQL the users' rows are locked; SQLite has one writer)."""

from __future__ import annotations

import threading
import time

from pipelines.app.accounts import register_user
from pipelines.db import Database
from pipelines.db.ledger_versions import bump_ledgers, claim_ledgers


def _users(database: Database) -> list[str]:
    with database.transaction() as session:
        return [register_user(session, name, "correct-horse-battery").id for name in ("ann", "bob")]


def test_a_claim_tells_who_was_written_by_someone_else(database: Database) -> None:
    ann, bob = _users(database)
    with database.transaction() as session:
        first = claim_ledgers(session, [ann, bob, "nobody"])
    assert first == {ann: 1, bob: 1}  # an unknown user: absent (read as never held)
    with database.transaction() as session:
        bump_ledgers(session, [bob])  # another writer
    with database.transaction() as session:
        second = claim_ledgers(session, [ann, bob])
    assert second[ann] == first[ann] + 1  # nobody else wrote ann's ledger
    assert second[bob] == first[bob] + 2  # bob's was written in between
    with database.transaction() as session:
        assert claim_ledgers(session, []) == {}
        bump_ledgers(session, [])  # nothing to raise: no statement


def test_a_writer_waits_for_an_open_claim(database: Database) -> None:
    ann, _ = _users(database)
    order: list[str] = []

    def writer() -> None:
        with database.transaction() as session:
            bump_ledgers(session, [ann])
            order.append("writer")

    with database.transaction() as session:
        claimed = claim_ledgers(session, [ann])
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.3)  # the writer is blocked meanwhile
        order.append("claim")
    thread.join(10)
    assert order == ["claim", "writer"]
    with database.transaction() as session:
        assert claim_ledgers(session, [ann])[ann] == claimed[ann] + 2
