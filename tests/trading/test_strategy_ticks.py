"""A feed tick of several symbols: every user's strategy orders of the tick go through one transaction
and come out exactly as when the symbols' bars are fed one by one; a user whose orders fail leaves
the others' placed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from pipelines.app.accounts import register_user
from pipelines.app.strategy_runs import StrategyRuns
from pipelines.app.trades import TradeDesk
from pipelines.app.trading_limits import trading_limits
from pipelines.data.ingest import open_store
from pipelines.data.schema import with_labels
from pipelines.db import open_database
from pipelines.db.trading_models import OrderRow, TradeRow
from pipelines.settings import Settings
from pipelines.trading.dca import DcaSettings
from pipelines.trading.risk import RiskLimits
from pipelines.trading.strategy_store import StrategyStore
from tests.trading.test_runner import random_bars

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
RUN = {"capital": 500, "fast": 3, "slow": 8, "stop_loss": 0.01, "take_profit": 0.02}


def _run(home: Path, by_tick: bool, failing: bool = False) -> tuple[list[Any], list[Any], list[int]]:
    """Orders and trades after 80 ticks, and the commits of each tick (by_tick) with orders;
    ``failing``: every ledger write of bob's fails (his risk limits cannot be read)."""
    settings = Settings(home=home, paper_commission=0.001, paper_initial_balance=100_000)
    database = open_database(settings)
    store = open_store(settings)
    frames = {s: random_bars(120, seed=i + 5) for i, s in enumerate(SYMBOLS)}
    for s, frame in frames.items():
        store.write(with_labels(frame.iloc[:40], symbol=s, timeframe="1m", source="synthetic"))
    broken: list[str] = []

    def limits(session: Session, user: str) -> tuple[RiskLimits, DcaSettings]:
        if user in broken:
            raise RuntimeError("no limits")
        return trading_limits(session, user)

    runs = StrategyRuns(settings, database, TradeDesk(settings, database, limits=limits))
    runs.save_every = 3600.0  # states of bars without orders: not written during the ticks
    runs.lead()
    strategies = StrategyStore(runs)
    with database.transaction() as session:
        users = [register_user(session, n, "correct-horse-battery").id for n in ("ann", "bob")]
        for s in SYMBOLS:  # ann: all three symbols, bob: the first
            record = strategies.create(session, users[0], f"sma {s}", "sma_cross", {"symbols": [s], **RUN})
            strategies.activate(session, record)
        record = strategies.create(
            session, users[1], "sma bob", "sma_cross", {"symbols": [SYMBOLS[0]], **RUN}
        )
        strategies.activate(session, record)
    broken.extend(users[1:] if failing else [])
    commits: list[int] = []
    seen = [0]
    event.listen(database.engine, "commit", lambda _conn: seen.__setitem__(0, seen[0] + 1))
    runs.sync_every = 3600.0
    for i in range(40, 120):
        bars = {s: f.iloc[i : i + 1].reset_index(drop=True) for s, f in frames.items()}
        for s, bar in bars.items():
            store.write(with_labels(bar, symbol=s, timeframe="1m", source="synthetic"))
        seen[0] = 0
        if by_tick:
            runs.on_bars("1m", bars)
            commits.append(seen[0])
        else:
            for s, bar in bars.items():
                runs.on_new_bars(s, "1m", bar)
    with database.session() as session:
        order_cols = (OrderRow.client_order_id, OrderRow.user_id, OrderRow.side, OrderRow.quantity)
        fills = (OrderRow.status, OrderRow.average_price, OrderRow.commission)
        rows = session.execute(select(*order_cols, *fills)).all()
        names = {u: n for n, u in zip(("ann", "bob"), users, strict=True)}
        # The ids are random per run: the user's name and the client id after the strategy's id.
        orders = sorted((names[r[1]], r[0][len("strat-") + 37 :], *r[2:]) for r in rows)
        trade_cols = (TradeRow.user_id, TradeRow.symbol, TradeRow.status, TradeRow.entry_price)
        trades = sorted(
            (names[r[0]], *r[1:], created)
            for *r, created in session.execute(
                select(*trade_cols, TradeRow.exit_price, TradeRow.realized_pnl, TradeRow.created_at)
            )
        )
    runs.close()
    database.close()
    return orders, trades, commits


def test_a_tick_places_every_users_orders_in_one_transaction_as_feeding_symbol_by_symbol(
    tmp_path: Path,
) -> None:
    orders, trades, commits = _run(tmp_path / "tick", by_tick=True)
    one_by_one, trades_one_by_one, _ = _run(tmp_path / "symbols", by_tick=False)
    assert len(orders) > 20 and {row[0] for row in orders} == {"ann", "bob"}
    assert orders == one_by_one
    assert trades == trades_one_by_one
    assert max(commits) == 1  # both users' orders of a tick: one transaction
    assert any(c > 0 for c in commits)
    # The loaded trades the ledger changed are written back (by id, not through the session's rows):
    # the closed ones with their exit, at most one open per sleeve (one strategy per user and symbol).
    closed = [t for t in trades if t[2] == "closed"]
    assert closed and all(t[4] is not None and t[5] is not None for t in closed)
    still_open = [(t[0], t[1]) for t in trades if t[2] != "closed"]
    assert len(still_open) == len(set(still_open))
    failed, failed_trades, _ = _run(tmp_path / "failing", by_tick=True, failing=True)
    assert failed == [row for row in orders if row[0] == "ann"]  # bob's failure cost ann nothing
    assert failed_trades == [row for row in trades if row[0] == "ann"]
