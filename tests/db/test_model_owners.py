"""The model_owners table: its migration, and claiming a name once (the first claimer wins)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipelines.db import ModelOwner, claim_model, drop_model_owner, model_owner, open_database
from pipelines.settings import Settings
from tests.db.support import assert_migration_builds


def test_the_migration_builds_the_model(tmp_path: Path) -> None:
    assert_migration_builds(f"sqlite:///{tmp_path / 'app.db'}", {ModelOwner.__tablename__}, "0006", "0004")


@pytest.mark.postgres
def test_the_postgres_migration_builds_the_model(fresh_pg_url: str) -> None:
    assert_migration_builds(fresh_pg_url, {ModelOwner.__tablename__}, "0006", "0004")


def test_a_name_is_claimed_once(settings: Settings) -> None:
    database = open_database(settings)
    try:
        with database.transaction() as session:
            assert claim_model(session, "m", "ann") == ("ann", True)
        with database.transaction() as session:
            assert claim_model(session, "m", "bob") == ("ann", False)
            assert model_owner(session, "m") == "ann"
            drop_model_owner(session, "m", "bob")  # not bob's: kept
        with database.transaction() as session:
            assert model_owner(session, "m") == "ann"
            drop_model_owner(session, "m")
        with database.session() as session:
            assert model_owner(session, "m") is None
    finally:
        database.close()


def _race(database_url_settings: Settings, users: list[str]) -> list[tuple[str, bool]]:
    database = open_database(database_url_settings)
    barrier = threading.Barrier(len(users))
    results: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def claim(user: str) -> None:
        barrier.wait()
        with database.transaction() as session:
            outcome = claim_model(session, "contested", user)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=claim, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    database.close()
    return results


def test_racing_claimers_get_one_owner(settings: Settings) -> None:
    users = [f"user{i}" for i in range(8)]
    results = _race(settings, users)
    winners = [owner for owner, created in results if created]
    assert len(winners) == 1
    assert {owner for owner, _ in results} == set(winners)


@pytest.mark.postgres
def test_racing_claimers_get_one_owner_on_postgres(tmp_path: Path, fresh_pg_url: str) -> None:
    settings = Settings(home=tmp_path / "home", database_url=fresh_pg_url)
    results = _race(settings, [f"user{i}" for i in range(8)])
    assert sum(created for _, created in results) == 1 and len({o for o, _ in results}) == 1
