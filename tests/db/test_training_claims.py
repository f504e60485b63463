"""The training_claims table: one training per model name across threads, workers and processes;
released on success and on failure; a claim its killed holder left behind expires."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from pipelines.db import (
    Database,
    TrainingClaim,
    TrainingGuard,
    active_trainings,
    claim_training,
    open_database,
    release_training,
    renew_training,
)
from pipelines.errors import ConflictError
from pipelines.settings import Settings
from tests.db.support import assert_migration_builds

MINUTE = dt.timedelta(minutes=1)


def test_the_migration_builds_the_model(tmp_path: Path) -> None:
    assert_migration_builds(f"sqlite:///{tmp_path / 'app.db'}", {TrainingClaim.__tablename__}, "0007", "0006")


@pytest.mark.postgres
def test_the_postgres_migration_builds_the_model(fresh_pg_url: str) -> None:
    assert_migration_builds(fresh_pg_url, {TrainingClaim.__tablename__}, "0007", "0006")


def test_a_live_claim_is_held_once_and_released_only_by_its_holder(database: Database) -> None:
    with database.transaction() as session:
        assert claim_training(session, "m", "tok-a", "a", MINUTE)
    with database.transaction() as session:
        assert not claim_training(session, "m", "tok-b", "b", MINUTE)
        assert not renew_training(session, "m", "tok-b", MINUTE)
        release_training(session, "m", "tok-b")  # not b's claim: kept
    with database.session() as session:
        assert active_trainings(session) == {"m"}
    with database.transaction() as session:
        assert renew_training(session, "m", "tok-a", MINUTE)
        release_training(session, "m", "tok-a")
    with database.transaction() as session:
        assert active_trainings(session) == frozenset()
        assert claim_training(session, "m", "tok-b", "b", MINUTE)


def test_an_expired_claim_is_taken_over(database: Database) -> None:
    with database.transaction() as session:
        assert claim_training(session, "m", "dead", "killed", dt.timedelta(seconds=-1))
    with database.session() as session:
        assert active_trainings(session) == frozenset()  # expired: no longer shown as training
    with database.transaction() as session:
        assert claim_training(session, "m", "alive", "b", MINUTE)
    with database.transaction() as session:
        assert not renew_training(session, "m", "dead", MINUTE)  # the dead holder lost it
        release_training(session, "m", "dead")
    with database.session() as session:
        assert active_trainings(session) == {"m"}


def test_the_guard_refuses_a_second_training_and_releases_on_failure(database: Database) -> None:
    guard = TrainingGuard(database)
    with guard.hold("m"):
        assert guard.active() == {"m"}
        with pytest.raises(ConflictError, match="'m' is being trained already"), guard.hold("m"):
            pass
        with guard.hold("other"):  # another model trains meanwhile
            assert guard.active() == {"m", "other"}
    assert guard.active() == frozenset()
    with pytest.raises(RuntimeError, match="training failed"), guard.hold("m"):
        raise RuntimeError("training failed")
    assert guard.active() == frozenset()
    with guard.hold("m"):  # claimable again after the failure
        pass


def test_the_heartbeat_keeps_a_long_training_claimed(database: Database) -> None:
    guard = TrainingGuard(database, ttl_seconds=0.6)
    with guard.hold("slow"):
        time.sleep(1.5)  # well past the ttl: only the renewals keep the claim live
        with pytest.raises(ConflictError), guard.hold("slow"):
            pass
    assert guard.active() == frozenset()


def _train_in_process(settings: Settings, barrier: Barrier, results: multiprocessing.Queue[str]) -> None:
    """One worker process: open the database, wait for the other, try to train "contested"."""
    database = open_database(settings)
    try:
        guard = TrainingGuard(database)
        barrier.wait(timeout=60)
        try:
            with guard.hold("contested"):
                results.put("trained")
                time.sleep(1.0)  # still training when the other's claim arrives
        except ConflictError:
            results.put("conflict")
    finally:
        database.close()


def _race_processes(settings: Settings) -> list[str]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results: multiprocessing.Queue[str] = context.Queue()
    workers = [context.Process(target=_train_in_process, args=(settings, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    return sorted(results.get(timeout=5) for _ in workers)


def test_two_processes_racing_on_sqlite_train_once(settings: Settings) -> None:
    open_database(settings).close()  # migrated once, before the race
    assert _race_processes(settings) == ["conflict", "trained"]
    database = open_database(settings)
    try:
        assert TrainingGuard(database).active() == frozenset()
    finally:
        database.close()


@pytest.mark.postgres
def test_two_processes_racing_on_postgres_train_once(fresh_pg_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=fresh_pg_url)
    database = open_database(settings)
    try:
        assert _race_processes(settings) == ["conflict", "trained"]
        assert TrainingGuard(database).active() == frozenset()
    finally:
        database.close()
