"""Strategy optimization requests: every check made before any data is read (the strategy, its
search space and constraints, the objective, the trials against ``optimize_max_trials``, the bars like
a backtest's, and the trials x bars a search replays), and where a named study is kept.

Studies are Optuna journal files under the home, one folder per owner
(``<home>/studies/<user id or "cli">/<study>.log``): another user's study of the same name is another
study, and no name can reach outside its owner's folder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.app.backtest import TradingTerms
from pipelines.app.backtest_plan import BacktestRequest, plan_backtest
from pipelines.backtest.optimize import OBJECTIVES
from pipelines.backtest.param_space import Constraint, Dimension, parse_constraint, parse_space
from pipelines.backtest.strategies import strategy_name
from pipelines.data.limits import estimate_bars
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = [
    "CLI_OWNER",
    "OPTIMIZE_BUDGET",
    "STUDY_NAME_PATTERN",
    "SYNC_BUDGET",
    "SYNC_MAX_TRIALS",
    "OptimizePlan",
    "OptimizeQuery",
    "check_budget",
    "plan_optimize",
    "study_path",
]

STUDY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
CLI_OWNER = "cli"  # the folder of studies run from the command line and the Dagster assets
# A search replays the search bars about 1.5 times a trial (half of them first, for the pruner): all
# trials together may replay this many times the bars one request may read.
OPTIMIZE_BUDGET = 200
# A search the caller waits for (the API's synchronous answer): at most this many trials, and trials x
# bars at most this many times the bar limit; more run as a job.
SYNC_MAX_TRIALS = 100
SYNC_BUDGET = 10
_MAX_PARAMETERS = 20
_MAX_CONSTRAINTS = 20


@dataclass(frozen=True, kw_only=True)
class OptimizeQuery(TradingTerms):
    """A search of ``strategy``'s ``grid`` ({name: "low:high[:step]" or "a,b,c"}, the sweep's names and
    syntax) on ``symbol``, ``params`` held fixed (``parameters`` and ``fixed``: their older names,
    still accepted); ``owner``: whose studies ``study_name`` names (the caller's user id; None on the
    command line);
    ``heatmap``: the two parameters the logged heat map shows (default the first two searched);
    ``dataset_id``: the bars of an uploaded ``ohlcv`` dataset (the caller checked its owner)."""

    strategy: str
    symbol: str
    grid: Mapping[str, str] | None = None
    params: Mapping[str, Any] | None = None
    parameters: Mapping[str, str] | None = None  # the older name of ``grid``
    fixed: Mapping[str, Any] | None = None  # the older name of ``params``
    constraints: Sequence[str] = ()
    objective: str = "sharpe"
    trials: int = 100
    holdout: float = 0.2
    seed: int = 42
    prune: bool = True
    study_name: str | None = None
    heatmap: Sequence[str] | None = None
    start_date: Any = None
    end_date: Any = None
    timeframe: str = "1d"
    source: str | None = None
    dataset_id: str | None = None
    owner: str | None = None
    path: str | Path | None = None  # a user's file (source "file"), on the command line only


@dataclass(frozen=True)
class OptimizePlan:
    """A checked query: the bars to read (as a backtest's), the space and rules of the search, and
    the journal file of its study (None: an unnamed study, kept in memory)."""

    request: BacktestRequest
    space: dict[str, Dimension]
    constraints: list[Constraint]
    fixed: dict[str, Any]
    objective: str
    trials: int
    holdout: float
    seed: int
    prune: bool
    study_name: str | None
    storage: Path | None
    heatmap: tuple[str, str] | None
    given: dict[str, Any] = field(default_factory=dict)
    budget: int = OPTIMIZE_BUDGET  # trials x bars, in multiples of the bar limit


def study_path(settings: Settings, owner: str | None, study_name: str) -> Path:
    """The journal file of ``owner``'s study ``study_name`` (both checked against safe patterns)."""
    if not isinstance(study_name, str) or not re.match(STUDY_NAME_PATTERN, study_name):
        raise InvalidRequestError(
            f"study name {study_name!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a "
            "letter or digit"
        )
    folder = CLI_OWNER if owner is None else str(owner)
    if not _OWNER.match(folder):
        raise InvalidRequestError(f"cannot keep studies for owner {folder!r}")
    return settings.home / "studies" / folder / f"{study_name}.log"


def _int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        bound = f">= {low}" if high is None else f"{low}..{high:,}"
        raise InvalidRequestError(f"{name} must be an integer {bound}, got {value!r}")
    return value


def _heatmap(space: Mapping[str, Dimension], chosen: Sequence[str] | None) -> tuple[str, str] | None:
    if chosen is None:
        names = list(space)
        return (names[0], names[1]) if len(names) >= 2 else None
    pair = list(chosen)
    if len(pair) != 2 or pair[0] == pair[1] or any(n not in space for n in pair):
        raise InvalidRequestError(
            f"heatmap names two different searched parameters (of {', '.join(space)}), got {pair!r}"
        )
    return pair[0], pair[1]


def _either(query: OptimizeQuery, name: str, old: str) -> Any:
    """The value of field ``name`` or of its older name ``old`` (not both)."""
    new_value, old_value = getattr(query, name), getattr(query, old)
    if new_value is not None and old_value is not None:
        raise InvalidRequestError(f"give {name} or its older name {old}, not both")
    return new_value if new_value is not None else old_value


def _search_names(query: OptimizeQuery) -> tuple[Any, dict[str, Any]]:
    """The query's searched ranges (``grid``, or ``parameters``) and fixed values (``params``, or
    ``fixed``)."""
    fixed = _either(query, "params", "fixed")
    if fixed is not None and not isinstance(fixed, Mapping):
        raise InvalidRequestError('params holds the parameters kept fixed, e.g. {"slow": 50}')
    return _either(query, "grid", "parameters"), dict(fixed or {})


def _search_rules(
    query: OptimizeQuery, strategy: str, ranges: Any, fixed: Mapping[str, Any]
) -> tuple[dict[str, Dimension], list[Constraint]]:
    if not isinstance(ranges, Mapping) or not ranges:
        raise InvalidRequestError(
            'give grid: the parameters to search, e.g. {"fast": "5:100", "slow": "10:300"}'
        )
    if len(ranges) > _MAX_PARAMETERS or len(query.constraints) > _MAX_CONSTRAINTS:
        raise InvalidRequestError(
            f"a search takes at most {_MAX_PARAMETERS} parameters and {_MAX_CONSTRAINTS} constraints"
        )
    if any(not isinstance(v, str) for v in ranges.values()):
        raise InvalidRequestError('each parameter\'s range is text: "low:high", "low:high:step" or "a,b,c"')
    space = parse_space(strategy, ranges)
    names = [*space, *fixed]
    if any(not isinstance(c, str) for c in query.constraints):
        raise InvalidRequestError('each constraint is text, e.g. "fast < slow"')
    return space, [parse_constraint(text, names) for text in query.constraints]


def _search_terms(settings: Settings, query: OptimizeQuery, waiting: bool) -> tuple[int, float, int]:
    """The objective, and the trials, holdout and seed checked."""
    if query.objective not in OBJECTIVES:
        raise InvalidRequestError(
            f"objective must be one of {', '.join(OBJECTIVES)}, got {query.objective!r}"
        )
    trials = _int("trials", query.trials, 1, settings.limits.optimize_max_trials)
    if waiting and trials > SYNC_MAX_TRIALS:
        raise InvalidRequestError(
            f"{trials} trials take too long to wait for: ask with async: true (a job), or ask at most "
            f"{SYNC_MAX_TRIALS}"
        )
    holdout = query.holdout
    if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not 0.0 < holdout <= 0.5:
        raise InvalidRequestError(f"holdout must be a fraction > 0 and <= 0.5, got {holdout!r}")
    seed = _int("seed", query.seed, 0, 2**31 - 1)  # a resumed study seeds its sampler with seed + trials
    return trials, float(holdout), seed


def plan_optimize(
    settings: Settings,
    query: OptimizeQuery,
    source: str,
    path: str | Path | None = None,
    *,
    waiting: bool = False,
) -> OptimizePlan:
    """``query`` checked before any data is read; ``source``/``path``: where its bars come from;
    ``waiting``: the caller waits for the answer (held to ``SYNC_MAX_TRIALS`` and ``SYNC_BUDGET``)."""
    strategy = strategy_name(query.strategy)
    if strategy == "ml_predictive":
        raise InvalidRequestError("ml_predictive trades a registered model; optimize a rule-based strategy")
    ranges, fixed = _search_names(query)
    space, constraints = _search_rules(query, strategy, ranges, fixed)
    if overlap := sorted(set(fixed) & set(space)):
        raise InvalidRequestError(f"parameter(s) {', '.join(overlap)} are both searched and fixed")
    trials, holdout, seed = _search_terms(settings, query, waiting)
    budget = SYNC_BUDGET if waiting else OPTIMIZE_BUDGET
    storage = None if query.study_name is None else study_path(settings, query.owner, query.study_name)
    request = plan_backtest(
        settings,
        strategy=strategy,
        symbol=query.symbol,
        params={**fixed, **{name: dim.sample_value() for name, dim in space.items()}},
        source=source,
        timeframe=query.timeframe,
        start=query.start_date,
        end=query.end_date,
        path=path,
        **query.given(),
    )
    if request.source != "file":  # a user's file is counted when it is read
        bars = estimate_bars(request.timeframe, request.start, request.end, crypto=request.config.crypto)
        check_budget(settings, bars, trials, budget)
    return OptimizePlan(
        request,
        space,
        constraints,
        fixed,
        query.objective,
        trials,
        holdout,
        seed,
        bool(query.prune),
        query.study_name,
        storage,
        _heatmap(space, query.heatmap),
        query.given(),
        budget,
    )


def check_budget(settings: Settings, bars: int, trials: int, multiple: int = OPTIMIZE_BUDGET) -> None:
    """trials x bars is held to ``multiple`` times the bar limit."""
    budget = settings.limits.max_bars_per_request * multiple
    if bars * trials > budget:
        fits = max(1, math.floor(budget / max(bars, 1)))
        wait = " or ask with async: true (a job)," if multiple < OPTIMIZE_BUDGET else ""
        raise InvalidRequestError(
            f"{trials} trials over about {bars:,} bars replay {bars * trials:,} bars, over the limit of "
            f"{budget:,} ({multiple} x max_bars_per_request); run at most {fits} trials on this range,"
            f"{wait} or shorten the range"
        )
