"""Which series (symbol, timeframe) the live feed follows for the active strategies.

The feed carries the configured series (``live_symbols`` or the universe, at ``live_timeframe``);
an active strategy on another one makes the feed carry it too, up to ``live_follow_max`` such series
(checked against every active strategy in the database, so every worker refuses alike: a 409 before
anything runs). The check reads in the activation's own transaction, which holds a lock until it
commits (SQLite's write lock, taken when the transaction began; on PostgreSQL a transaction-level
advisory lock), so two activations at once are checked one after the other: the second sees the
first's series and cannot take the feed past the limit.

Where the feed runs (the leader), :meth:`StrategyFeeds.follow` hands the series of
the running strategies to the feed's ``follower`` after every start and stop: the last strategy on a
series that is not configured gone, the feed drops it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session, object_session

from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.db import Database
from pipelines.db.strategy_models import LiveStrategy
from pipelines.errors import ConflictError
from pipelines.settings import Settings

__all__ = ["Follower", "Series", "StrategyFeeds"]

Series = tuple[str, str]  # symbol, timeframe
_PG_FOLLOW_LOCK = 0x7472_6466_6C77  # "trdflw": the follow-limit check, one transaction at a time
Follower = Callable[[set[Series]], None]  # the feed: carry these series besides the configured ones


def series_of(params: dict[str, object]) -> set[Series]:
    """The series a stored strategy's ``params`` trade."""
    timeframe = parse_timeframe(str(params.get("timeframe", "1m"))).name
    symbols = params.get("symbols")
    return {(str(s), timeframe) for s in symbols} if isinstance(symbols, list) else set()


class StrategyFeeds:
    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.follower: Follower | None = None  # set where the feed runs

    def configured(self) -> set[Series]:
        live = self.settings.live
        symbols = live.live_symbols or [u.symbol for u in self.settings.data.universe]
        timeframe = parse_timeframe(live.live_timeframe).name
        return {(parse_symbol(s).name, timeframe) for s in symbols}

    def check(self, strategy: LiveStrategy) -> None:
        """Refuse ``strategy`` when the feed would follow more than ``live_follow_max`` series."""
        configured = self.configured()
        mine = series_of(strategy.params) - configured
        session = object_session(strategy)  # the activation's transaction (see the module docstring)
        if session is None:
            with self.database.session() as fresh:
                others = self._followed(fresh, strategy.id) - configured
        else:
            others = self._followed(session, strategy.id) - configured
        limit = self.settings.live.live_follow_max
        new = sorted(mine - others)
        if new and len(others | mine) > limit:
            shown = ", ".join(f"{s} {tf}" for s, tf in new[:5])
            raise ConflictError(
                f"the live feed already follows {len(others)} series for active strategies beyond the "
                f"configured ones (at most {limit}: live_follow_max); this strategy would add {shown}"
            )

    @staticmethod
    def _followed(session: Session, strategy_id: str) -> set[Series]:
        """The series of the other active strategies, read under the follow lock."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_FOLLOW_LOCK})
        query = select(LiveStrategy.params).where(
            LiveStrategy.status == "active", LiveStrategy.id != strategy_id
        )
        followed: set[Series] = set()
        for params in session.scalars(query):
            followed |= series_of(params)
        return followed

    def follow(self, series: Iterable[Series]) -> None:
        """The feed carries these series of the running strategies (and the configured ones)."""
        if self.follower is not None:
            self.follower(set(series) - self.configured())
