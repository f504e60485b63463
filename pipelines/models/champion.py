"""Whether a new model version takes the ``champion`` alias.

Both versions are scored on one held-out window, the later of their two validation windows, with
the rows either of them trained on cut out (:mod:`pipelines.models.champion_window`). The new
version wins only when it is strictly better there on the selection metric; a tie, too few rows
or a comparison that cannot be made keeps the champion. A score the metric leaves undefined (the
IC of constant predictions) counts as no skill. ``force`` promotes regardless, and says so.

With ``min_psr`` set (``TRADEFORGE_CHAMPION_MIN_PSR``), winning on the metric is not enough: the
probabilistic Sharpe ratio *against zero* of the new version's direction calls on the same held-out
rows (:mod:`pipelines.models.champion_psr`) must also reach it, so that a version is not promoted on
a lucky window. A first version has no champion to keep and is promoted without the test.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.models.champion_psr import HeldOutPsr
from pipelines.models.champion_trials import Deflation, deflate, recorded_sharpes
from pipelines.models.champion_window import (
    MIN_COMPARE_ROWS,
    BarsOf,
    Contender,
    Window,
    comparison_window,
    score_window,
)
from pipelines.models.kinds import MemberLoader, load_model
from pipelines.models.mlflow_model import read_meta
from pipelines.models.tracking import RegisteredVersion, Tracker

__all__ = [
    "SELECTION_METRICS",
    "ChampionDecision",
    "Comparison",
    "Contender",
    "Contest",
    "beats",
    "decide_champion",
]

# metric -> True when higher is better
SELECTION_METRICS = {"val_ic": True, "val_directional_accuracy": True, "val_r2": True, "val_rmse": False}
# what an undefined score counts as: no skill
_NO_SKILL = {"val_ic": 0.0, "val_directional_accuracy": 0.5, "val_r2": 0.0, "val_rmse": math.inf}


@dataclass(frozen=True)
class Contest:
    """A new version against the current champion of ``model_name``. ``bars_of(start, end)``: the
    stored bars of the new version's dataset (its own snapshot for its own range)."""

    model_name: str
    metric: str
    candidate: Contender
    bars_of: BarsOf
    member_loader: MemberLoader | None = None
    force: bool = False
    min_psr: float | None = None  # the held-out PSR a winner must also reach (None: no such test)


@dataclass(frozen=True)
class Comparison:
    """Both versions' selection metric on the compared rows (NaN where it could not be scored)."""

    metric: str
    champion_version: str
    candidate: float = math.nan
    champion: float = math.nan
    window_of: str = ""  # whose validation window: "candidate" or "champion"
    window_start: str = ""  # first and last compared rows
    window_end: str = ""
    rows: int = 0
    candidate_psr: float = math.nan  # PSR against 0 of each version's direction calls on the rows
    champion_psr: float = math.nan
    psr_returns: int = 0  # the non-overlapping returns the PSR was measured on
    min_psr: float | None = None
    held_out: HeldOutPsr = field(default_factory=HeldOutPsr)  # the candidate's, for the deflation

    def as_dict(self) -> dict[str, Any]:
        def clean(v: float) -> float | None:
            return None if math.isnan(v) else v

        return {
            "metric": self.metric,
            "candidate": clean(self.candidate),
            "champion": clean(self.champion),
            "champion_version": self.champion_version,
            "window_of": self.window_of,
            "window_start": self.window_start or None,
            "window_end": self.window_end or None,
            "rows": self.rows,
            "candidate_psr": clean(self.candidate_psr),
            "champion_psr": clean(self.champion_psr),
            "psr_returns": self.psr_returns,
            "min_psr": self.min_psr,
        }


@dataclass(frozen=True)
class ChampionDecision:
    promoted: bool
    reason: str
    forced: bool = False
    comparison: Comparison | None = None
    deflation: Deflation | None = None  # the held-out Sharpe ratio deflated by the model's versions

    def metrics(self) -> dict[str, float]:
        """What the run logs as metrics: the decision, the held-out deflation and, when compared,
        both scores and the rows."""
        out = {"promoted": float(self.promoted), "champion_forced": float(self.forced)}
        if self.deflation is not None:
            out |= {k: v for k, v in self.deflation.metrics().items() if not math.isnan(v)}
        c = self.comparison
        if c is not None and c.rows:
            short = c.metric.removeprefix("val_")
            out |= {
                f"champion_compare_candidate_{short}": c.candidate,
                f"champion_compare_champion_{short}": c.champion,
                "champion_compare_rows": float(c.rows),
            }
            out |= {
                f"champion_compare_{who}_psr": value
                for who, value in (("candidate", c.candidate_psr), ("champion", c.champion_psr))
                if not math.isnan(value)
            }
        return out

    def params(self) -> dict[str, str]:
        c = self.comparison
        if c is None:
            return {}
        params = {
            "champion_compare_metric": c.metric,
            "champion_compare_champion_version": c.champion_version,
            "champion_compare_window_of": c.window_of,
            "champion_compare_window_start": c.window_start,
            "champion_compare_window_end": c.window_end,
            "champion_min_psr": "" if c.min_psr is None else str(c.min_psr),
        }
        return {k: v for k, v in params.items() if v}

    def as_dict(self) -> dict[str, Any] | None:
        if self.comparison is None:
            return None
        deflation = {} if self.deflation is None else self.deflation.as_dict()
        return {**self.comparison.as_dict(), "forced": self.forced, **deflation}

    def tags(self) -> dict[str, str]:
        """The decision, and the held-out PSR it weighed (when one was measured), as run tags."""
        out = {
            "tradeforge.champion_decision": self.reason,
            "tradeforge.champion_forced": str(self.forced).lower(),
        }
        c = self.comparison
        if c is not None and not math.isnan(c.candidate_psr):
            out["tradeforge.champion_psr"] = f"{c.candidate_psr:.6f}"
        if c is not None and c.min_psr is not None:
            out["tradeforge.champion_min_psr"] = str(c.min_psr)
        if self.deflation is not None:
            out["tradeforge.held_out_trials"] = str(self.deflation.trials)
            out["tradeforge.held_out_deflated_sharpe"] = f"{self.deflation.deflated_sharpe:.6f}"
        return out


def _load_champion(
    tracker: Tracker, current: RegisteredVersion, tmp: Path, member_loader: MemberLoader | None
) -> Contender:
    folder = tracker.download(current.source, tmp)
    regressor_dir = folder / "artifacts" / "regressor"
    meta = read_meta(regressor_dir)
    horizon = meta.horizon if meta.outputs == ["predicted_return"] else len(meta.outputs) // 4
    return Contender(
        model=load_model(regressor_dir, member_loader=member_loader),
        feature_set=meta.feature_set,
        feature_names=list(meta.feature_names),
        outputs=list(meta.outputs),
        horizon=horizon,
        ranges=dict(meta.data_range),
    )


def _why_not(contest: Contest, champion: Contender) -> str | None:
    """Why the two cannot be compared at all, or None."""
    missing = champion.missing_ranges()
    if missing:
        return f"the champion's run recorded no {', '.join(missing)}"
    if champion.outputs != contest.candidate.outputs:
        return f"the champion predicts {champion.outputs[:4]}, this version {contest.candidate.outputs[:4]}"
    return None


def _compare(contest: Contest, champion: Contender, version: str) -> tuple[Comparison, str | None]:
    """The comparison on the later validation window and, when it decides nothing, why."""
    blank = Comparison(contest.metric, version, min_psr=contest.min_psr)
    problem = _why_not(contest, champion)
    if problem is not None:
        return blank, problem
    window = comparison_window(contest.candidate, champion)
    try:
        scores = score_window(window, contest.candidate, champion, contest.bars_of)
    except (DataNotFoundError, InvalidRequestError) as exc:  # no stored bars, no usable rows
        failed = Comparison(contest.metric, version, window_of=window.of, min_psr=contest.min_psr)
        return failed, f"cannot score both: {exc}"
    key = contest.metric.removeprefix("val_")
    comparison = Comparison(
        contest.metric,
        version,
        scores.candidate.get(key, math.nan),
        scores.champion.get(key, math.nan),
        window.of,
        "" if scores.first is None else scores.first.isoformat(),
        "" if scores.last is None else scores.last.isoformat(),
        scores.rows,
        scores.candidate_psr.psr,
        scores.champion_psr.psr,
        scores.candidate_psr.returns,
        contest.min_psr,
        scores.candidate_psr,
    )
    if scores.rows < MIN_COMPARE_ROWS:
        return comparison, _too_few(window, scores.rows)
    return comparison, None


def _too_few(window: Window, rows: int) -> str:
    return (
        f"only {rows} rows of the {window.of}'s validation window ({window.start.date()} to "
        f"{window.end.date()}) lie after both versions' training (to {window.fit_end.date()}) and a "
        f"{window.embargo}-bar embargo; at least {MIN_COMPARE_ROWS} are needed"
    )


def beats(metric: str, new: float, old: float) -> bool:
    """Strictly better on ``metric``; an undefined score counts as no skill."""
    new = _NO_SKILL[metric] if math.isnan(new) else new
    old = _NO_SKILL[metric] if math.isnan(old) else old
    return new > old if SELECTION_METRICS[metric] else new < old


def _shown(score: float) -> str:
    return "undefined (no skill)" if math.isnan(score) else f"{score:.6g}"


def _verdict(contest: Contest, c: Comparison, problem: str | None) -> ChampionDecision:
    basis = (
        f"{c.metric} {_shown(c.candidate)} vs champion v{c.champion_version} {_shown(c.champion)} on "
        f"{c.rows} rows of the {c.window_of}'s validation window "
        f"({c.window_start[:10]} to {c.window_end[:10]})"
    )
    stays = f"champion stays version {c.champion_version}"
    if contest.force:
        said = basis if problem is None else f"not compared: {problem}"
        reason = f"forced: promoted to champion over v{c.champion_version} ({said})"
        return ChampionDecision(True, reason, forced=True, comparison=c)
    if problem is not None:
        return ChampionDecision(False, f"{stays}: {problem}", comparison=c)
    won = beats(c.metric, c.candidate, c.champion)
    if won and c.min_psr is not None:
        psr = f"held-out PSR {_shown(c.candidate_psr)} over {c.psr_returns} returns"
        if not c.candidate_psr >= c.min_psr:  # NaN: no Sharpe ratio to trust
            return ChampionDecision(False, f"{basis}; {psr} < {c.min_psr}: {stays}", comparison=c)
        basis = f"{basis}; {psr} >= {c.min_psr}"
    verdict = "promoted to champion" if won else stays
    return ChampionDecision(won, f"{basis}: {verdict}", comparison=c)


def _held_out_alone(contest: Contest) -> HeldOutPsr:
    """A first version's held-out PSR: on its own validation window, after its training rows."""
    c = contest.candidate
    if c.missing_ranges():
        return HeldOutPsr()
    try:
        return score_window(comparison_window(c, c), c, c, contest.bars_of).candidate_psr
    except (DataNotFoundError, InvalidRequestError):
        return HeldOutPsr()


def decide_champion(tracker: Tracker, contest: Contest) -> ChampionDecision:
    """Whether the new version described by ``contest`` becomes champion, and why, with its held-out
    Sharpe ratio deflated by the versions of the model with one recorded (:mod:`.champion_trials`;
    the new version must not carry its own yet)."""
    current = tracker.alias_version(contest.model_name, "champion")
    if current is None:
        deflation = deflate(_held_out_alone(contest), recorded_sharpes(tracker, contest.model_name))
        return ChampionDecision(
            True, "first version: promoted to champion", contest.force, deflation=deflation
        )
    with tempfile.TemporaryDirectory(prefix="tradeforge-champion-") as tmp:
        champion = _load_champion(tracker, current, Path(tmp), contest.member_loader)
        comparison, problem = _compare(contest, champion, current.version)
    deflation = deflate(comparison.held_out, recorded_sharpes(tracker, contest.model_name))
    return replace(_verdict(contest, comparison, problem), deflation=deflation)
