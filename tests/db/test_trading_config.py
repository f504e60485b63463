"""Stored trading configurations on SQLite and PostgreSQL: overlapping updates (the first save of a
user's row included) lose no field, a refused update writes nothing, each user has their own row."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pipelines.app.trading_config import load_config, update_config
from pipelines.db import Database, TradingConfigRow, create_user
from pipelines.trading.config import ConfigValidationError, default_config


def _user(database: Database, name: str) -> str:
    with database.transaction() as session:
        return create_user(session, username=name, password_hash="x").id


def _overlapping(database: Database, user_id: str, patches: list[dict[str, Any]]) -> list[list[str]]:
    barrier = threading.Barrier(len(patches))
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run(patch: dict[str, Any]) -> None:
        barrier.wait()
        try:
            results.append(update_config(database.transaction, user_id, patch)[1])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in patches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_overlapping_updates_lose_no_field(database: Database) -> None:
    alice, bob = _user(database, "alice"), _user(database, "bob")
    first = [  # racing to create the row
        {"trading": {"max_position_size": "3000"}},
        {"dca": {"max_attempts": 9}},
        {"risk": {"take_profit": "0.2"}},
        {"ml": {"confidence_threshold": 0.65}},
    ]
    second = [
        {"dca": {"base_volume": f"{10 + i}"}, "trading": {"daily_loss_limit": f"{50 + i}"}} for i in range(6)
    ]
    assert sorted(map(len, _overlapping(database, alice, first))) == [1, 1, 1, 1]
    _overlapping(database, alice, second)
    with database.session() as session:
        config = load_config(session, alice).as_json()
        row = session.get(TradingConfigRow, alice)
        assert row is not None and row.version == len(first) + len(second)
        assert load_config(session, bob) == default_config()
    assert config["trading"]["max_position_size"] == "3000" and config["dca"]["max_attempts"] == 9
    assert config["risk"]["take_profit"] == "0.2" and config["ml"]["confidence_threshold"] == 0.65
    # The last writer wins per field, and both fields come from the same (the last) update.
    index = int(config["dca"]["base_volume"]) - 10
    assert config["trading"]["daily_loss_limit"] == f"{50 + index}"


def test_a_refused_update_writes_nothing(database: Database) -> None:
    user = _user(database, "carol")
    with pytest.raises(ConfigValidationError):
        update_config(database.transaction, user, {"dca": {"step": "0.01", "max_attempts": 99}})
    with database.session() as session:
        assert session.get(TradingConfigRow, user) is None
        assert load_config(session, user).dca.step == default_config().dca.step
