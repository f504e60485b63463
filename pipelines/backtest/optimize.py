"""Strategy parameter optimization with Optuna: for spaces too large to grid.

The bars are split once, by time: the search sees only the bars before the held-out tail, and the
best parameters found are then traded on the tail (its indicators warmed by the history before it),
so the answer shows in-sample and out-of-sample metrics side by side and over-fitting is visible.

Each trial asks Optuna's TPE sampler for parameters, skips (as pruned, with the reason) those that
break a constraint, backtests the first half of the search bars, reports it so the median pruner can
stop a hopeless trial there, then backtests the whole search window. A study kept in a journal file
is resumed by name: its strategy, space, objective, constraints and split must match, so the trials
of one study are always comparable. The best trial's Sharpe ratio is deflated by the number of
completed trials and their Sharpe variance (``significance``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult
from pipelines.backtest.overfitting import pbo_block
from pipelines.backtest.param_space import Constraint, Dimension, describe_space
from pipelines.backtest.runner import run_strategy, run_strategy_from
from pipelines.backtest.significance import bar_returns, sharpe_significance
from pipelines.backtest.strategies import validate_strategy_params
from pipelines.backtest.sweep import OBJECTIVES  # the same objectives as a parameter sweep
from pipelines.errors import ConflictError, InvalidRequestError

__all__ = ["OBJECTIVES", "OptimizationResult", "optimize_strategy", "split_index"]

_MIN_SEARCH_BARS = 20
_PBO_MAX_CELLS = 5_000_000  # trials x bars kept in memory for the over-fitting estimate
Progress = Callable[[int, int], None]

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class OptimizationResult:
    """The search and its out-of-sample check; ``trials`` every trial of the study, oldest first."""

    study_name: str | None
    strategy: str
    objective: str
    best_params: dict[str, Any]
    best_value: float
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    split: dict[str, Any]
    trials: list[dict[str, Any]]
    significance: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "study_name": self.study_name,
            "strategy": self.strategy,
            "objective": self.objective,
            "best_params": self.best_params,
            "best_value": self.best_value,
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
            "split": self.split,
            "trials_total": len(self.trials),
            **self.counts,
            "significance": self.significance,
            "trials": self.trials,
        }


def split_index(rows: int, holdout: float) -> int:
    """The first held-out row: the last ``holdout`` fraction of ``rows`` (at least one bar) is kept
    out of the search."""
    if not isinstance(holdout, int | float) or isinstance(holdout, bool) or not 0.0 < holdout <= 0.5:
        raise InvalidRequestError(f"holdout must be a fraction > 0 and <= 0.5, got {holdout!r}")
    cut = rows - max(1, math.ceil(rows * holdout))
    if cut < _MIN_SEARCH_BARS or rows - cut < 2:
        raise InvalidRequestError(
            f"{rows} bars are too few to search on {_MIN_SEARCH_BARS}+ bars and hold out "
            f"{holdout:.0%} of them; give a longer period"
        )
    return cut


def _value(result: BacktestResult, metric: str) -> float | None:
    raw = result.metrics.get(metric)
    return float(raw) if isinstance(raw, int | float) and math.isfinite(raw) else None


@dataclass
class _Search:
    """What a study's trials share: the bars, the rules, what was already evaluated."""

    bars: pd.DataFrame
    strategy: str
    config: BacktestConfig
    space: Mapping[str, Dimension]
    constraints: Sequence[Constraint]
    metric: str
    prune: bool
    fixed: Mapping[str, Any] = field(default_factory=dict)
    seen: dict[tuple[Any, ...], tuple[float | None, float | None]] = field(default_factory=dict)
    returns: list[np.ndarray[Any, np.dtype[np.float64]]] = field(default_factory=list)

    def run(self, params: Mapping[str, Any], rows: int | None = None) -> BacktestResult:
        bars = self.bars if rows is None else self.bars.iloc[:rows].reset_index(drop=True)
        return run_strategy(bars, self.strategy, {**self.fixed, **params}, self.config)

    def trial(self, study: optuna.Study) -> None:
        """Ask, evaluate and tell one trial."""
        trial = study.ask({name: dim.distribution() for name, dim in self.space.items()})
        params = {**self.fixed, **trial.params}
        broken = [c.text for c in self.constraints if not c.holds(params)]
        if broken:
            trial.set_user_attr("skipped", f"breaks {', '.join(broken)}")
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return
        key = tuple(params[name] for name in self.space)
        if key in self.seen:  # TPE may ask again: the same bars give the same answer
            self._tell(study, trial, *self.seen[key])
            return
        if self.prune:
            early = _value(self.run(params, len(self.bars) // 2), self.metric)
            if early is not None:
                trial.report(early, 0)
                if trial.should_prune():
                    trial.set_user_attr("pruned_at", "half of the search bars")
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    return
        result = self.run(params)
        value = _value(result, self.metric)
        self.seen[key] = (value, _value(result, "sharpe_ratio"))
        if value is not None:
            self.returns.append(bar_returns(result.equity))
        self._tell(study, trial, *self.seen[key])

    def _tell(
        self, study: optuna.Study, trial: optuna.Trial, value: float | None, sharpe: float | None
    ) -> None:
        trial.set_user_attr("sharpe_ratio", sharpe)  # kept in the study: a resumed one deflates by all
        if value is None:
            trial.set_user_attr("skipped", f"no {self.metric} (too few trades or returns)")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)


def _open_study(
    storage: Path | None, study_name: str | None, identity: dict[str, Any], seed: int, prune: bool
) -> optuna.Study:  # the direction is the objective's (in the identity): volatility is minimized
    """A new study, or the stored one of that name when its identity matches."""
    backend = None
    if storage is not None:
        storage.parent.mkdir(parents=True, exist_ok=True)
        backend = JournalStorage(JournalFileBackend(str(storage)))
    study = optuna.create_study(
        storage=backend,
        study_name=study_name,
        direction="maximize" if OBJECTIVES[identity["objective"]][1] else "minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5) if prune else optuna.pruners.NopPruner(),
        load_if_exists=True,
    )
    stored = study.user_attrs.get("identity")
    if stored is None:
        study.set_user_attr("identity", identity)
    elif stored != identity:
        changed = sorted(k for k in identity if stored.get(k) != identity[k])
        raise ConflictError(
            f"study {study_name!r} was run with another {', '.join(changed)}; "
            "resume it with the same settings or name a new study"
        )
    if study.trials:  # a resumed study samples on from where it stopped, not its first draws again
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def _trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    return [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            "params": dict(t.params),
            "value": t.value,
            **({"note": t.user_attrs["skipped"]} if "skipped" in t.user_attrs else {}),
        }
        for t in study.trials
    ]


def _significance(search: _Search, best: BacktestResult, study: optuna.Study) -> dict[str, Any]:
    """The best trial's Sharpe deflated by the completed trials; PBO over this run's trials."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    sharpes = [float(s) for t in done if isinstance(s := t.user_attrs.get("sharpe_ratio"), int | float)]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else None
    block = sharpe_significance(
        bar_returns(best.equity),
        per_year=best.config.bars_per_year,
        trials=max(len(done), 1),
        trials_sharpe_variance=variance,
    )
    kept = search.returns
    if len(kept) > 1 and len(kept) * kept[0].size <= _PBO_MAX_CELLS:
        block["overfitting"] = pbo_block(np.column_stack(kept))
    else:
        block["overfitting"] = None
    return block


def optimize_strategy(
    bars: pd.DataFrame,
    strategy: str,
    config: BacktestConfig,
    space: Mapping[str, Dimension],
    *,
    constraints: Sequence[Constraint] = (),
    fixed: Mapping[str, Any] | None = None,
    objective: str = "sharpe",
    trials: int = 100,
    holdout: float = 0.2,
    seed: int = 42,
    prune: bool = True,
    storage: Path | None = None,
    study_name: str | None = None,
    progress: Progress | None = None,
) -> OptimizationResult:
    """Search ``space`` for ``trials`` more trials on ``bars`` before the held-out tail, then trade
    the best parameters on the tail. ``storage`` (a journal file) with ``study_name`` keeps the study
    so a later call resumes it."""
    if objective not in OBJECTIVES:
        raise InvalidRequestError(
            f"objective must be one of {', '.join(sorted(OBJECTIVES))}, got {objective!r}"
        )
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise InvalidRequestError(f"trials must be a positive integer, got {trials!r}")
    if not space:
        raise InvalidRequestError("give at least one parameter to search")
    fixed = dict(fixed or {})
    if overlap := sorted(set(fixed) & set(space)):
        raise InvalidRequestError(f"parameter(s) {', '.join(overlap)} are both searched and fixed")
    validate_strategy_params(strategy, {**fixed, **{name: dim.sample_value() for name, dim in space.items()}})
    cut = split_index(len(bars), holdout)
    split = _split(bars, cut)
    identity = {
        "strategy": strategy,
        "space": describe_space(space),
        "objective": objective,
        "constraints": [c.text for c in constraints],
        "fixed": fixed,
        "split": {k: split[k] for k in ("search_start", "search_end")},
    }
    study = _open_study(storage, study_name, identity, seed, prune)
    search = _Search(
        bars.iloc[:cut].reset_index(drop=True),
        strategy,
        config,
        space,
        constraints,
        OBJECTIVES[objective][0],
        prune,
        fixed,
    )
    for done in range(trials):
        search.trial(study)
        if progress is not None:
            progress(done + 1, trials)
    return _result(bars, cut, search, study, split, objective)


def _split(bars: pd.DataFrame, cut: int) -> dict[str, Any]:
    stamps = pd.DatetimeIndex(pd.to_datetime(bars["timestamp"], utc=True))
    return {
        "search_start": stamps[0].isoformat(),
        "search_end": stamps[cut - 1].isoformat(),
        "holdout_start": stamps[cut].isoformat(),
        "holdout_end": stamps[-1].isoformat(),
        "search_bars": cut,
        "holdout_bars": len(bars) - cut,
    }


def _result(
    bars: pd.DataFrame, cut: int, search: _Search, study: optuna.Study, split: dict[str, Any], objective: str
) -> OptimizationResult:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise InvalidRequestError(
            f"no trial gave a {objective} value (every one broke a constraint or made too few trades); "
            "widen the space or the period"
        )
    best_trial = study.best_trial
    best = search.run(best_trial.params)
    holdout_start = pd.Timestamp(split["holdout_start"])
    tail = run_strategy_from(
        bars, holdout_start, search.strategy, {**search.fixed, **best_trial.params}, search.config
    )
    states = [(t.state, "skipped" in t.user_attrs) for t in study.trials]
    pruned = optuna.trial.TrialState.PRUNED
    return OptimizationResult(
        study_name=study.study_name
        if study.study_name and not study.study_name.startswith("no-name")
        else None,
        strategy=search.strategy,
        objective=objective,
        best_params=dict(best_trial.params),
        best_value=float(best_trial.value or 0.0),
        in_sample=dict(best.metrics),
        out_of_sample=dict(tail.metrics),
        split=split,
        trials=_trial_rows(study),
        significance=_significance(search, best, study),
        counts={
            "trials_complete": sum(s == optuna.trial.TrialState.COMPLETE for s, _ in states),
            "trials_pruned": sum(s == pruned and not skip for s, skip in states),
            "trials_skipped": sum(s == pruned and skip for s, skip in states),
            "trials_failed": sum(s == optuna.trial.TrialState.FAIL for s, _ in states),
        },
    )
