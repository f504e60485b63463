"""Two activations at once cannot take the live feed past ``live_follow_max``: the follow check reads
in each activation's own transaction under a lock held until it commits, so the second sees the
first's series (on SQLite and on PostgreSQL, whose transactions do not otherwise wait for each
other)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipelines.app.accounts import register_user
from pipelines.app.strategy_feeds import StrategyFeeds
from pipelines.app.strategy_runs import StrategyRuns
from pipelines.app.trades import TradeDesk
from pipelines.db import open_database
from pipelines.db.strategy_models import LiveStrategy
from pipelines.errors import ConflictError
from pipelines.settings import Settings
from pipelines.trading.strategy_store import StrategyStore

CONFIGURED = "BTC/USDT"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("fresh_pg_url") if request.param == "postgres" else None
    return Settings(home=tmp_path / "home", database_url=url, live_symbols=[CONFIGURED], live_follow_max=1)


def test_concurrent_activations_stay_within_the_follow_limit(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_database(settings)
    runs = StrategyRuns(settings, database, TradeDesk(settings, database))
    store = StrategyStore(runs)
    ids = []
    with database.transaction() as s:
        for name, symbol in (("ann", "ETH/USDT"), ("bob", "SOL/USDT")):
            user = register_user(s, name, "correct-horse-battery")
            params = {"symbols": [symbol], "capital": 100}
            ids.append(store.create(s, user.id, f"hold {name}", "buy_and_hold", params).id)
    checked = StrategyFeeds.check

    def slow_check(self: StrategyFeeds, strategy: LiveStrategy) -> None:
        checked(self, strategy)
        time.sleep(0.3)  # the activation's transaction stays open: the other one checks meanwhile

    monkeypatch.setattr(StrategyFeeds, "check", slow_check)
    start = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def activate(strategy_id: str) -> None:
        start.wait()
        try:
            with database.transaction() as s:
                store.activate(s, store.get(s, strategy_id, user_id="", is_admin=True))
            outcomes[strategy_id] = "active"
        except ConflictError as exc:
            outcomes[strategy_id] = exc

    threads = [threading.Thread(target=activate, args=(sid,)) for sid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert sorted("active" if o == "active" else "refused" for o in outcomes.values()) == [
            "active",
            "refused",
        ]
        refused = next(o for o in outcomes.values() if isinstance(o, ConflictError))
        assert "at most 1: live_follow_max" in str(refused)
        with database.session() as s:
            active = s.scalars(select(LiveStrategy.id).where(LiveStrategy.status == "active")).all()
        assert active == [sid for sid, o in outcomes.items() if o == "active"]
    finally:
        runs.close()
        database.close()
