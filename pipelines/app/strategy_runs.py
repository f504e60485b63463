"""Activated strategies trading on the paper ledger: the :class:`RunnerSwitch` the strategy routes call.

``start`` builds one :class:`StrategyRunner` per symbol of a strategy: a strategy activated anew
starts flat from the stored bars (its window warmed, nothing traded before); one still active across a
restart is restored from its saved state and replays the bars stored since, placing their orders.
Each new bar from the live feed (``on_new_bars``, in the worker that runs the feed) goes to the
runners of that symbol and timeframe (``on_bars``: the bars of a whole tick, several symbols); a bar's
orders are placed and filled in that bar (the trades carrying ``strategy_id``), every user's orders of
the tick in one transaction with their runners' states (``execute_tick``, each user's ledger kept
between ticks unless another writer touched it; after a failure there, user
by user with ``execute_batch``, so one user's failure costs the others nothing); the states of
runners without orders are snapshotted after the bar and written together by a background thread
every ``save_every`` seconds (off the bar's path). Client order ids are derived from (strategy,
symbol, bar, leg), so the bars replayed after a crash (from whichever state was saved last) place
nothing twice.

Only the worker that runs the feed leads (:meth:`StrategyRuns.lead`); elsewhere ``start`` only checks
that the strategy can run, and the leader picks up (de)activations made in other workers from the
database before it steps a bar (at most ``sync_every`` seconds late). ``ml_predictive`` runners get
their model context from ``LiveModels``; each start and stop hands the running series to the feed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.app.ledger_cache import LedgerCache
from pipelines.app.live_signals import LiveModels
from pipelines.app.runner_bars import RunnerBars, SourceOf
from pipelines.app.strategy_feeds import Follower, StrategyFeeds
from pipelines.app.strategy_legs import Legs, execute_batch, execute_legs
from pipelines.app.strategy_rows import bars_of, write_states
from pipelines.app.strategy_tick import execute_tick
from pipelines.app.trades import TradeDesk
from pipelines.data.timeframes import parse_timeframe
from pipelines.db import Database
from pipelines.db.strategy_models import LiveStrategy, StrategyRunState
from pipelines.settings import Settings
from pipelines.trading.execution import book_bar
from pipelines.trading.records import Bar as BookBar
from pipelines.trading.runner import Bar, PlannedOrder, RunnerConfig, StrategyRunner
from pipelines.trading.strategy_specs import runner_configs

__all__ = ["StrategyRuns"]

log = logging.getLogger("tradeforge.trading.strategies")

Planned = tuple[StrategyRunner, list[PlannedOrder], BookBar]  # a runner's legs of its newest bar
Pending = dict[str, list[Planned]]  # by user


def _at(activated_at: dt.datetime | None) -> str | None:
    return None if activated_at is None else activated_at.isoformat()


_ACTIVE = select(LiveStrategy.id, LiveStrategy.activated_at).where(LiveStrategy.status == "active")


class StrategyRuns:
    """The runners of every active strategy, by (symbol, timeframe)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        desk: TradeDesk,
        *,
        source_of: SourceOf | None = None,
        models: LiveModels | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.desk = desk
        self.source_of = source_of
        self.models = models or LiveModels(settings, database)  # ml_predictive's model context
        self.feeds = StrategyFeeds(settings, database)  # the series the live feed follows for them
        self.history = RunnerBars(settings, source_of)  # the stored bars runners warm and catch up on
        self.models.history = self.history  # and a model's features start from
        self._lock = threading.RLock()
        self._runners: dict[str, list[StrategyRunner]] = {}  # strategy id -> one runner per symbol
        self._series: dict[tuple[str, str], list[StrategyRunner]] = {}  # (symbol, timeframe) -> runners
        self._activated: dict[str, str | None] = {}  # strategy id -> the activation its states belong to
        self.leading = False
        self.sync_every = 1.0
        self.save_every = 1.0
        self._synced = 0.0
        self._dirty: dict[tuple[str, str], tuple[int | None, dict[str, Any]]] = {}
        self._closed = threading.Event()
        self._saver: threading.Thread | None = None
        self.ledgers: LedgerCache | None = LedgerCache()  # users' ledgers between ticks (None: read)

    def lead(self) -> int:
        """This worker runs the feed: run every strategy stored as active; how many run."""
        self.leading = True
        if self._saver is None:
            self._saver = threading.Thread(target=self._save_loop, name="strategy-states", daemon=True)
            self._saver.start()
        return self.sync(force=True)

    def _save_loop(self) -> None:
        while not self._closed.wait(self.save_every):
            try:
                self.flush()
            except Exception:
                log.exception("saving the strategy runners' states failed (retried)")

    def flush(self) -> int:
        """Write the states snapshotted since the last flush (one transaction); how many."""
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        if dirty:
            with self.database.transaction() as session:
                write_states(session, [(sid, sym, ts, state) for (sid, sym), (ts, state) in dirty.items()])
        return len(dirty)

    # -- RunnerSwitch ------------------------------------------------------------------------------
    def start(self, strategy: LiveStrategy) -> None:
        """Run ``strategy``'s symbols (refused, nothing started, for a strategy that cannot run live:
        an ``ml_predictive`` whose model is not registered or forecasts no returns)."""
        paper = self.settings.paper
        venue = {"commission": paper.paper_commission, "slippage": paper.paper_slippage}
        params = {**venue, **strategy.params}  # costs not set: the paper venue's
        configs = runner_configs(strategy.id, strategy.user_id, strategy.type, params)
        self.feeds.check(strategy)  # the feed can follow its series
        configs = self.models.bind(strategy, configs)  # a model-driven strategy's context
        timeframe = parse_timeframe(strategy.params.get("timeframe", "1m")).name
        activated = _at(strategy.activated_at)
        for cfg in configs:
            StrategyRunner(cfg)  # raises before anything runs
        if not self.leading:
            return
        self._drop(strategy.id)
        runners = [self._load(cfg, timeframe, activated) for cfg in configs]
        with self._lock:
            self._runners[strategy.id] = runners
            self._activated[strategy.id] = activated
            for runner in runners:
                self._series.setdefault((runner.config.symbol, timeframe), []).append(runner)
        self._follow()

    def stop(self, strategy_id: str) -> None:
        self._drop(strategy_id)
        self._follow()

    def follow_feed(self, follower: Follower) -> None:
        """The live feed (where it runs) follows the running strategies' series from now on."""
        self.feeds.follower = follower
        self._follow()

    def _follow(self) -> None:
        with self._lock:
            series = list(self._series)
        try:
            self.feeds.follow(series)
        except Exception:  # the runners run on; the feed keeps what it carried
            log.exception("the live feed could not follow the strategies' series")

    def _drop(self, strategy_id: str) -> None:
        with self._lock:
            gone = self._runners.pop(strategy_id, [])
            self._activated.pop(strategy_id, None)
            for key, runners in list(self._series.items()):
                kept = [r for r in runners if r not in gone]
                if kept:
                    self._series[key] = kept
                else:
                    del self._series[key]

    def sync(self, *, force: bool = False) -> int:
        """Run the strategies stored as active, stop the others (another worker's changes); how many
        were started. Checked at most every ``sync_every`` seconds unless ``force``."""
        now = time.monotonic()
        if not force and now - self._synced < self.sync_every:
            return 0
        self._synced = now
        with self.database.session() as session:  # ids first (cheap: on a bar's path once a second)
            wanted = {sid: at for sid, at in session.execute(_ACTIVE)}
            with self._lock:
                stale = [sid for sid in self._runners if sid not in wanted]
                changed = [sid for sid, at in wanted.items() if self._activated.get(sid, "-") != _at(at)]
            todo: list[LiveStrategy] = []
            if changed:
                query = select(LiveStrategy).where(
                    LiveStrategy.id.in_(changed), LiveStrategy.status == "active"
                )
                todo = list(session.scalars(query).all())
                session.expunge_all()
        for sid in stale:
            self.stop(sid)
        started = 0
        for record in todo:
            try:
                self.start(record)
                started += 1
            except Exception:  # one broken strategy must not keep the others from running
                log.exception("strategy %s could not be started", record.id)
        return started

    def close(self) -> None:
        self._closed.set()
        if self._saver is not None:
            self._saver.join(10)
            self._saver = None
        try:
            self.flush()
        except Exception:
            log.exception("saving the strategy runners' states at shutdown failed")
        with self._lock:
            self._runners.clear()
            self._series.clear()
            self._activated.clear()

    def running(self, strategy_id: str) -> list[StrategyRunner]:
        with self._lock:
            return list(self._runners.get(strategy_id, []))

    # -- bars --------------------------------------------------------------------------------------
    def on_new_bars(self, symbol: str, timeframe: str, bars: pd.DataFrame | None = None) -> None:
        """Bars of ``symbol`` were stored (the live feed's hook): every runner on that series steps."""
        self.on_bars(timeframe, {symbol: bars})

    def on_bars(self, timeframe: str, batch: Mapping[str, pd.DataFrame | None]) -> None:
        """Bars of several symbols were stored (one feed tick): every runner on those series steps, and
        each user's orders of the newest bars are placed in one transaction (with the runners' states)."""
        if not self.leading:
            return
        self.sync()
        pending: Pending = {}
        with self._lock:  # once per tick, not per symbol
            series = {symbol: list(self._series.get((symbol, timeframe), ())) for symbol in batch}
        step = parse_timeframe(timeframe).seconds * 1_000_000_000
        for symbol, bars in batch.items():
            runners = series[symbol]
            if not runners:
                continue
            rows = self._rows(symbol, timeframe, runners, bars, step)
            for runner in runners:
                if self._feed(runner, rows, timeframe, pending):
                    self._snapshot(runner)
        if pending:
            self._place_tick(pending, timeframe)

    def _rows(
        self, symbol: str, timeframe: str, runners: list[StrategyRunner], bars: pd.DataFrame | None, step: int
    ) -> list[Bar]:
        """The new bars, read back from the store when one came in between (``step``: the bar, ns)."""
        rows = [] if bars is None else bars_of(bars)
        behind = min((r.last_ts for r in runners if r.last_ts is not None), default=None)
        if not rows or (behind is not None and behind < rows[0].ts_ns - step):  # a bar came in between
            start = pd.Timestamp(behind or 0, tz="UTC")
            rows = bars_of(self.history.read(symbol, timeframe, start))
        return rows

    def _feed(
        self, runner: StrategyRunner, rows: list[Bar], timeframe: str, pending: Pending | None = None
    ) -> bool:
        """Step ``runner`` through ``rows`` (those newer than its last); True when its state is still
        to be saved (no orders came with the last bar). With ``pending``, the last bar's orders are
        left there to be placed (with the user's others). A failure reloads it from its saved state."""
        unsaved = False
        for i, bar in enumerate(rows):
            if runner.last_ts is not None and bar.ts_ns <= runner.last_ts:
                continue
            try:
                if pending is not None and i == len(rows) - 1:
                    planned = runner.on_bar(bar)
                    if planned:
                        pending.setdefault(runner.config.user_id, []).append((runner, planned, book_bar(bar)))
                    unsaved = not planned
                else:
                    unsaved = self.step(runner, bar)
            except Exception:
                log.exception("strategy %s on %s failed at %s", runner.config.strategy_id, bar.ts_ns, bar)
                self._reload(runner, timeframe)
                return False
        return unsaved

    def step(self, runner: StrategyRunner, bar: Bar) -> bool:
        """One bar through one runner; its orders placed with its state (True: no orders, state unsaved)."""
        planned = runner.on_bar(bar)
        if not planned:
            return True
        execute_legs(
            self.desk,
            runner.config.user_id,
            planned,
            book_bar(bar),
            also=lambda s, done: self._save(s, [runner], done),
        )
        return False

    def _place_tick(self, pending: Pending, timeframe: str) -> None:
        """Every user's legs of a tick in one transaction; a failure there retries user by user (one
        user's failure then leaves the others' orders placed)."""
        users = sorted(pending)  # the order execute_tick hands the legs' states back in
        runners = [runner for user in users for runner, _, _ in pending[user]]
        batches = {user: [(planned, bar) for _, planned, bar in items] for user, items in pending.items()}
        try:
            execute_tick(self.desk, batches, lambda s, done: self._save(s, runners, done), self.ledgers)
        except Exception:
            log.exception("the strategy orders of a tick failed together: placed user by user")
            for user_id, items in pending.items():
                self._place(user_id, items, timeframe)

    def _place(self, user_id: str, items: list[Planned], timeframe: str) -> None:
        """One user's legs of a bar, across strategies and symbols, in one transaction; a failure
        reloads those runners from their saved states (the bar is replayed from there)."""
        runners = [runner for runner, _, _ in items]
        try:
            execute_batch(
                self.desk,
                user_id,
                [(planned, bar) for _, planned, bar in items],
                also=lambda s, done: self._save(s, runners, done),
            )
        except Exception:
            log.exception("the strategy orders of user %s failed", user_id)
            for runner in runners:
                self._reload(runner, timeframe)

    # -- state -------------------------------------------------------------------------------------
    def _state(self, runner: StrategyRunner) -> dict[str, Any]:
        state = runner.state(window=False, trades=False)
        state["activated"] = self._activated.get(runner.config.strategy_id)
        return state

    def _snapshot(self, runner: StrategyRunner) -> None:
        """Keep the state of a bar without orders for the next flush (an older one saved instead is
        safe: the bars after it are replayed at a restart and their orders are placed already)."""
        cfg = runner.config
        with self._lock:
            self._dirty[(cfg.strategy_id, cfg.symbol)] = (runner.last_ts, self._state(runner))

    def _save(self, session: Session, runners: list[StrategyRunner], done: list[Legs]) -> None:
        """The runners confirm their legs' states (a refusal undone), then their states are written."""
        for runner, legs in zip(runners, done, strict=True):
            _confirm(runner, legs)
        rows = [(r.config.strategy_id, r.config.symbol, r.last_ts, self._state(r)) for r in runners]
        with self._lock:
            for sid, symbol, _, _ in rows:
                self._dirty.pop((sid, symbol), None)
        write_states(session, rows)

    def _saved(self, cfg: RunnerConfig) -> dict[str, Any] | None:
        with self.database.session() as session:
            row = session.get(StrategyRunState, (cfg.strategy_id, cfg.symbol))
            return None if row is None else dict(row.state)

    def _load(self, cfg: RunnerConfig, timeframe: str, activated: str | None) -> StrategyRunner:
        """The runner of ``cfg``: restored and caught up when its saved state is of this activation,
        else warmed flat on the newest stored bars."""
        saved = self._saved(cfg)
        probe = StrategyRunner(cfg)
        step = pd.Timedelta(seconds=parse_timeframe(timeframe).seconds)
        if saved is None or saved.get("activated") != activated or saved.get("last_ts") is None:
            end = self.history.end(cfg.symbol, timeframe)
            if end is None:
                return probe
            history = self.history.read(cfg.symbol, timeframe, end - step * (probe.lookback + 1))
            probe.warm(history.iloc[-probe.lookback :])
            return probe
        last = pd.Timestamp(int(saved["last_ts"]), tz="UTC")
        history = self.history.read(cfg.symbol, timeframe, last - step * (probe.lookback + 1))
        runner = StrategyRunner.restore(cfg, saved, history=history)
        self._activated[cfg.strategy_id] = activated
        missed = [b for b in bars_of(history) if b.ts_ns > int(saved["last_ts"])]
        if missed:
            log.info("strategy %s on %s: replaying %d missed bars", cfg.strategy_id, cfg.symbol, len(missed))
            if self._feed(runner, missed, timeframe):
                self._snapshot(runner)
        return runner

    def _reload(self, runner: StrategyRunner, timeframe: str) -> None:
        cfg = runner.config
        fresh = self._load(cfg, timeframe, self._activated.get(cfg.strategy_id))
        with self._lock:
            for runners in (
                self._runners.get(cfg.strategy_id, []),
                self._series.get((cfg.symbol, timeframe), []),
            ):
                if runner in runners:
                    runners[runners.index(runner)] = fresh


def _confirm(runner: StrategyRunner, legs: Legs) -> None:
    for p, state in legs:
        runner.confirm(p, state)
        if state.fill is None:
            log.warning("strategy order %s not filled: %s", state.client_order_id, state.reason)
